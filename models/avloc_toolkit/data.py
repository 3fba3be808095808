"""Manifest dataset: a folder with ``manifest.jsonl``, one JSON object per line:

  {"image": "frames/0001.jpg",          # RGB image (path relative to the folder, or absolute)
   "audio": "audio/0001.wav",           # wav (any rate, any channel count; int or float PCM)
   "boxes": [[x0, y0, x1, y1], ...],    # optional, pixels of the *original* image
   "sounding": true,                    # optional, free-form flag carried through to evaluation
   "audio_end": 4.0,                    # optional, seconds: eval window ends here (causal, as the service)
   "id": "0001"}                        # optional name; defaults to the line number

``AVManifestDataset(folder, cfg, mode)`` yields dicts of tensors:
  image     float32 [3, S, S]  ImageNet-normalised (S = cfg.image_size)
  image_u8  uint8   [S, S, 3]  the same pixels before normalisation (what a bundle is fed)
  waveform  float32 [T]        T = cfg.window_samples at cfg.sample_rate
  gt        float32 [224, 224] union of boxes (eval mode; zeros when no boxes), as AVIN's Testset
  has_boxes bool, sounding bool, index int

Training mode (as the official AVParis): resize to (S*256/224)^2, random S crop, random
horizontal flip; audio = a random window of the clip. Eval mode (official Testset): resize to
S x S; audio = the centred window ("center"), the last one ("last"), or the one ending at
``audio_end``. Clips shorter than the window are zero-padded on the left (docs/MODEL_CONTRACT.md).
"""
from __future__ import annotations

import json
import math
import os
import random
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from PIL import Image
from scipy.io import wavfile
from scipy.signal import resample_poly
from torch.utils.data import Dataset

from .config import AVINConfig
from .imagenet import IMAGENET_MEAN, IMAGENET_STD

EVAL_SIZE = 224   # AVIN evaluates on 224 x 224 maps whatever the model's input size


def read_manifest(folder: str) -> List[Dict[str, Any]]:
    path = os.path.join(folder, "manifest.jsonl")
    items = []
    with open(path) as f:
        for n, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            it = json.loads(line)
            for k in ("image", "audio"):
                if k not in it:
                    raise ValueError(f"{path}:{n + 1}: missing field {k!r}")
                if not os.path.isabs(it[k]):
                    it[k] = os.path.join(folder, it[k])
            it.setdefault("id", str(n))
            items.append(it)
    return items


def load_audio(path: str, sample_rate: int) -> np.ndarray:
    """wav -> mono float32 in [-1, 1] at sample_rate (scipy polyphase resampling)."""
    sr, x = wavfile.read(path)
    if x.dtype == np.uint8:
        x = (x.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
    else:
        x = x.astype(np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sr != sample_rate:
        g = math.gcd(int(sr), int(sample_rate))
        x = resample_poly(x, sample_rate // g, sr // g).astype(np.float32)
    return np.clip(x, -1.0, 1.0)


def take_window(x: np.ndarray, n: int, start: int) -> np.ndarray:
    """x[start:start+n], zero-padded on the left where start < 0 or the clip is short."""
    out = np.zeros(n, dtype=np.float32)
    s0, s1 = max(start, 0), min(start + n, len(x))
    if s1 > s0:
        out[s0 - start:s1 - start] = x[s0:s1]
    return out


def normalize_u8(img_u8: np.ndarray) -> torch.Tensor:
    """uint8 HWC -> float CHW, ImageNet mean/std, same arithmetic as the exported graph."""
    x = torch.from_numpy(np.array(img_u8, dtype=np.uint8)).permute(2, 0, 1).float()
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1) * 255.0
    return (x - mean) / std


def boxes_to_gt(boxes, width: int, height: int, size: int = EVAL_SIZE) -> np.ndarray:
    """Union of boxes (pixels of a width x height image) on a size x size grid, as AVIN's Testset:
    normalise, clip to [0, 1], scale, truncate to int, fill [ymin:ymax, xmin:xmax]."""
    gt = np.zeros((size, size), dtype=np.float32)
    for x0, y0, x1, y1 in boxes or []:
        b = np.clip(np.array([x0 / width, y0 / height, x1 / width, y1 / height], dtype=np.float64), 0, 1)
        xmin, ymin, xmax, ymax = (b * [size, size, size, size]).astype(int)
        gt[ymin:ymax, xmin:xmax] = 1
    return gt


class AVManifestDataset(Dataset):
    def __init__(self, folder: str, cfg: AVINConfig, mode: str = "train", eval_window: str = "center",
                 seed: Optional[int] = None):
        if mode not in ("train", "eval"):
            raise ValueError("mode must be 'train' or 'eval'")
        if eval_window not in ("center", "last"):
            raise ValueError("eval_window must be 'center' or 'last'")
        self.folder = folder
        self.cfg = cfg
        self.mode = mode
        self.eval_window = eval_window
        self.items = read_manifest(folder)
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.items)

    def _image(self, path: str):
        S = self.cfg.image_size
        img = Image.open(path).convert("RGB")
        w, h = img.size
        if self.mode == "train":
            R = int(round(S * 256 / 224))
            img = img.resize((R, R), Image.BILINEAR)
            x0, y0 = self.rng.randint(0, R - S), self.rng.randint(0, R - S)
            img = img.crop((x0, y0, x0 + S, y0 + S))
            if self.rng.random() < 0.5:
                img = img.transpose(Image.FLIP_LEFT_RIGHT)
        else:
            img = img.resize((S, S), Image.BILINEAR)
        return np.asarray(img, dtype=np.uint8), w, h

    def _audio(self, it: Dict[str, Any]) -> np.ndarray:
        x = load_audio(it["audio"], self.cfg.sample_rate)
        n = self.cfg.window_samples
        if it.get("audio_end") is None and len(x) <= n:
            return take_window(x, n, len(x) - n)      # short clip: zero-pad on the left
        if self.mode == "train":
            start = self.rng.randint(0, max(len(x) - n, 0))
        elif it.get("audio_end") is not None:
            start = int(round(float(it["audio_end"]) * self.cfg.sample_rate)) - n
        elif self.eval_window == "last":
            start = len(x) - n
        else:
            start = (len(x) - n) // 2
        return take_window(x, n, start)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        it = self.items[i]
        img_u8, w, h = self._image(it["image"])
        out: Dict[str, Any] = {
            "image": normalize_u8(img_u8),
            "image_u8": torch.from_numpy(img_u8.copy()),
            "waveform": torch.from_numpy(self._audio(it)),
            "index": i,
            "has_boxes": bool(it.get("boxes")),
            "sounding": bool(it.get("sounding", True)),
        }
        if self.mode == "eval":
            out["gt"] = torch.from_numpy(boxes_to_gt(it.get("boxes"), w, h))
        return out
