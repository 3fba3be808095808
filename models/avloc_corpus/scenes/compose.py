"""One scene: a background crop with 1-3 pasted objects of different categories, and the audio
of exactly one of them (optionally a quieter off-screen source and noise).

Objects are scaled so that the sounding one covers several cells of the model's grid (the
square root of its box area is 35-60 % of the image side), placed so that boxes overlap little
(the sounding object stays mostly visible), and flipped at random.
"""
from __future__ import annotations

import random
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageEnhance


def _box_iou_frac(a, b) -> float:
    """Fraction of box a covered by box b."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(1, (a[2] - a[0]) * (a[3] - a[1]))


def background_crop(bg: Image.Image, size: int, rng: random.Random) -> Image.Image:
    w, h = bg.size
    side = int(min(w, h) * rng.uniform(0.35, 1.0))
    x0, y0 = rng.randint(0, w - side), rng.randint(0, h - side)
    crop = bg.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.BILINEAR)
    if rng.random() < 0.5:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    return crop


def place_objects(canvas: Image.Image, pics: List[Image.Image], rng: random.Random) -> List[List[int]]:
    """Paste pictures in order; returns their boxes [x0, y0, x1, y1] in canvas pixels."""
    S = canvas.size[0]
    boxes: List[List[int]] = []
    n = len(pics)
    lo, hi = {1: (0.4, 0.62), 2: (0.36, 0.52), 3: (0.33, 0.45)}[n]
    for pic in pics:
        best = None
        for _ in range(40):
            frac = rng.uniform(lo, hi)
            ar = pic.width / pic.height
            bw = frac * S * np.sqrt(ar)
            bh = frac * S / np.sqrt(ar)
            k = min(1.0, 0.92 * S / max(bw, bh))
            bw, bh = max(8, int(bw * k)), max(8, int(bh * k))
            x0, y0 = rng.randint(0, S - bw), rng.randint(0, S - bh)
            box = [x0, y0, x0 + bw, y0 + bh]
            cover = max([max(_box_iou_frac(box, b), _box_iou_frac(b, box)) for b in boxes] or [0.0])
            if best is None or cover < best[0]:
                best = (cover, box)
            if cover <= 0.12:
                break
        box = best[1]
        obj = pic.resize((box[2] - box[0], box[3] - box[1]), Image.LANCZOS)
        if rng.random() < 0.5:
            obj = obj.transpose(Image.FLIP_LEFT_RIGHT)
        if rng.random() < 0.5:   # mild photometric jitter, so style is not a shortcut
            obj = Image.merge("RGBA", (*ImageEnhance.Brightness(obj.convert("RGB")).enhance(
                rng.uniform(0.8, 1.2)).split(), obj.split()[3]))
        canvas.paste(obj, (box[0], box[1]), obj)
        boxes.append(box)
    return boxes


def _crop_loud(x: np.ndarray, n: int, rng: random.Random) -> np.ndarray:
    """An n-sample excerpt; short sounds are repeated with small gaps (a dog barks again)."""
    if len(x) < n:
        parts, total = [], 0
        while total < n + len(x):
            gap = np.zeros(int(rng.uniform(0.05, 0.35) * 16000), dtype=np.float32)
            parts += [x, gap]
            total += len(x) + len(gap)
        x = np.concatenate(parts)
    best, best_e = None, -1.0
    for _ in range(4):
        s = rng.randint(0, len(x) - n)
        e = float(np.mean(x[s:s + n] ** 2))
        if e > best_e:
            best, best_e = x[s:s + n], e
    return best.copy()


def pcm16(x: np.ndarray) -> np.ndarray:
    """float waveform in [-1, 1] -> int16 (how packs and in-memory scene sets keep audio)."""
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def mix_audio(main: np.ndarray, n: int, rng: random.Random, other: np.ndarray = None) -> Tuple[np.ndarray, Dict]:
    y = _crop_loud(main, n, rng)
    y = y / (np.sqrt(np.mean(y ** 2)) + 1e-8) * 10 ** (rng.uniform(-24, -14) / 20)
    info: Dict = {}
    if other is not None:
        db = rng.uniform(-18, -10)
        z = _crop_loud(other, n, rng)
        y = y + z / (np.sqrt(np.mean(z ** 2)) + 1e-8) * np.sqrt(np.mean(y ** 2)) * 10 ** (db / 20)
        info["second_db"] = round(db, 1)
    if rng.random() < 0.5:
        snr = rng.uniform(15, 35)
        noise = np.random.default_rng(rng.randint(0, 2 ** 31)).standard_normal(n).astype(np.float32)
        y = y + noise * np.sqrt(np.mean(y ** 2)) * 10 ** (-snr / 20)
        info["noise_snr_db"] = round(snr, 1)
    peak = np.abs(y).max()
    if peak > 0.99:
        y = y / peak * 0.99
    return y.astype(np.float32), info
