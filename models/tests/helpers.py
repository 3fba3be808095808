"""Shared helpers for the toolkit tests (synthetic manifest folders, paths)."""
import json
import os
import sys

import numpy as np
from PIL import Image
from scipy.io import wavfile

MODELS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if MODELS_DIR not in sys.path:
    sys.path.insert(0, MODELS_DIR)

import torch  # noqa: E402
torch.set_num_threads(2)


def make_manifest(folder: str, n: int = 6, size=(96, 80), sr: int = 22050, seconds: float = 1.5,
                  stereo: bool = True, seed: int = 0):
    """n items: an image with a bright square at a known place, a tone wav, the square as box."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)
    os.makedirs(os.path.join(folder, "wav"), exist_ok=True)
    W, H = size
    lines = []
    for i in range(n):
        img = (rng.random((H, W, 3)) * 60).astype(np.uint8)
        x0, y0 = int(rng.integers(0, W // 2)), int(rng.integers(0, H // 2))
        x1, y1 = x0 + W // 3, y0 + H // 3
        img[y0:y1, x0:x1] = [230, 200, 40]
        Image.fromarray(img).save(os.path.join(folder, "img", f"{i}.png"))
        t = np.arange(int(sr * seconds)) / sr
        tone = 0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t)
        data = (tone * 32767).astype(np.int16)
        if stereo:
            data = np.stack([data, data], 1)
        wavfile.write(os.path.join(folder, "wav", f"{i}.wav"), sr, data)
        lines.append({"image": f"img/{i}.png", "audio": f"wav/{i}.wav", "boxes": [[x0, y0, x1, y1]],
                      "sounding": True, "id": f"item{i}"})
    with open(os.path.join(folder, "manifest.jsonl"), "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")
    return lines


def read_json(path: str):
    with open(path) as f:
        return json.load(f)
