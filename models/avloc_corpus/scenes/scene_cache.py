"""A split of the corpus as in-memory tensors, cached to disk.

Why: on 2 shared CPU cores, decoding 6,000 JPEGs and WAVs every epoch and running the frozen audio
encoder on every step cost more than the visual network itself. Images are kept as uint8 at the
stored size (augmented on the fly), audio as the frozen encoder's output for a few fixed windows.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from avloc_toolkit.data import boxes_to_gt, load_audio, read_manifest, take_window
from avloc_toolkit.imagenet import IMAGENET_MEAN, IMAGENET_STD

MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0


def load_split(folder: str, sample_rate: int) -> Dict:
    """{images uint8 [N,S,S,3], waves float32 [N,T], items (manifest dicts)}; cached as scenes.pt."""
    cache = os.path.join(folder, f"scenes-{sample_rate}.pt")
    if os.path.exists(cache):
        return torch.load(cache)
    items = read_manifest(folder)
    imgs = np.stack([np.asarray(Image.open(it["image"]).convert("RGB")) for it in items])
    waves = [load_audio(it["audio"], sample_rate) for it in items]
    T = max(len(w) for w in waves)
    waves = np.stack([take_window(w, T, len(w) - T) for w in waves])
    out = {"images": torch.from_numpy(imgs), "waves": torch.from_numpy(waves), "items": items}
    # atomically: two trainings started together may both build it
    tmp = f"{cache}.{os.getpid()}.tmp"
    torch.save(out, tmp)
    os.replace(tmp, cache)
    return out


def to_input(u8: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 NHWC at stored size -> normalised NCHW at model size (same resize as eval)."""
    x = u8.permute(0, 3, 1, 2).float()
    if x.shape[-1] != size:
        x = F.interpolate(x, (size, size), mode="bilinear", align_corners=False, antialias=True)
    return (x - MEAN.to(x.device)) / STD.to(x.device)


def window_starts(total: int, window: int, n: int) -> List[int]:
    """n window starts spread over the clip; n=1 gives the centred one (the toolkit's eval window)."""
    if n == 1 or total <= window:
        return [max(0, (total - window) // 2)]
    return [round(k * (total - window) / (n - 1)) for k in range(n)]


def as_float_wave(w: torch.Tensor) -> torch.Tensor:
    """Waveforms are kept as float32, or as 16-bit PCM when there are many (generate.py)."""
    return w.float() / 32767.0 if w.dtype == torch.int16 else w


@torch.no_grad()
def audio_features(a_encoder: torch.nn.Module, waves: torch.Tensor, window: int, n_windows: int,
                   batch: int = 64) -> torch.Tensor:
    """Frozen encoder outputs [N, n_windows, D] for evenly spread windows of each clip, on the
    encoder's device (the waveforms may stay in host memory)."""
    a_encoder.eval()
    dev = next(a_encoder.parameters()).device
    starts = window_starts(waves.shape[1], window, n_windows)
    out = []
    for s in starts:
        feats = [a_encoder(as_float_wave(waves[i:i + batch, s:s + window]).to(dev))
                 for i in range(0, len(waves), batch)]
        out.append(torch.cat(feats))
    return torch.stack(out, 1)


def gt_maps(items: List[Dict], width: int, height: int) -> torch.Tensor:
    """AVIN-protocol ground truth (union of the sounding object's boxes) on 224 x 224."""
    return torch.from_numpy(np.stack([boxes_to_gt(it.get("boxes"), width, height) for it in items]))


def box_cells(box, side: int, grid: int) -> torch.Tensor:
    """[grid, grid] bool: the cells whose centre lies inside the box (pixels of a side x side image)."""
    c = (torch.arange(grid) + 0.5) * side / grid
    x0, y0, x1, y1 = box
    return ((c[None, :] >= x0) & (c[None, :] < x1)) & ((c[:, None] >= y0) & (c[:, None] < y1))


def cell_labels(items, cats, side: int, grid: int) -> torch.Tensor:
    """[N, grid, grid] class of each cell: 1 + the category of the object drawn there (objects are
    pasted in manifest order, the later on top), 0 for background or a category not in `cats`."""
    out = torch.zeros(len(items), grid, grid, dtype=torch.long)
    for n, it in enumerate(items):
        for o in it["objects"]:
            out[n][box_cells(o["box"], side, grid)] = cats.index(o["category"]) + 1 if o["category"] in cats else 0
    return out


@torch.no_grad()
def embed(model, images: torch.Tensor, waves: torch.Tensor, batch: int = 64):
    """Scenes through a scene checkpoint (eval mode, CPU): (visual maps [N, C, h, w] before
    centering and normalisation, L2-normalised audio embeddings [N, C] of the centred window)."""
    cfg = model.cfg
    fa = F.normalize(model.a_proj(audio_features(model.a_encoder, waves, cfg.window_samples, 1)[:, 0]), dim=1)
    fv = torch.cat([model.visual_map(to_input(images[i:i + batch], cfg.image_size))
                    for i in range(0, len(images), batch)])
    return fv, fa
