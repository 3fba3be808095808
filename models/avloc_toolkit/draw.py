"""PNG figures with PIL only (matplotlib is not installed here): the cIoU curve and overlays."""
from __future__ import annotations

import os
from typing import Any, Dict

import numpy as np
import torch
from PIL import Image, ImageDraw

from .metrics import normalize_maps, upsample

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]


def draw_curve(curves: Dict[str, Dict[str, Any]], path: str, size=(520, 400)) -> None:
    """Fraction of items with cIoU >= t against t, one line per protocol."""
    W, H = size
    L, R, T, B = 60, 20, 30, 50
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    px = lambda t: L + t * (W - L - R)
    py = lambda v: H - B - v * (H - T - B)
    d.rectangle([L, T, W - R, H - B], outline="black")
    for k in range(6):
        v = k / 5
        d.line([px(v), H - B, px(v), H - B + 4], fill="black")
        d.text((px(v) - 8, H - B + 6), f"{v:.1f}", fill="black")
        d.line([L - 4, py(v), L, py(v)], fill="black")
        d.text((L - 30, py(v) - 6), f"{v:.1f}", fill="black")
        d.line([px(v), T, px(v), H - B], fill=(230, 230, 230))
        d.line([L, py(v), W - R, py(v)], fill=(230, 230, 230))
    d.text((W // 2 - 40, H - 22), "cIoU threshold t", fill="black")
    d.text((8, 8), "fraction of items with cIoU >= t", fill="black")
    for n, (name, c) in enumerate(curves.items()):
        col = COLORS[n % len(COLORS)]
        pts = [(px(t), py(v)) for t, v in zip(c["thresholds"], c["fraction"])]
        d.line(pts, fill=col, width=2)
        for x, y in pts:
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=col)
        d.text((W - R - 110, T + 8 + 14 * n), f"-- {name}", fill=col)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    im.save(path)


def jet(v: np.ndarray) -> np.ndarray:
    """v in [0, 1] -> RGB uint8, a simple jet colormap."""
    v = np.clip(v, 0, 1)
    r = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return (np.stack([r, g, b], -1) * 255).astype(np.uint8)


def overlay(image_u8: np.ndarray, heat: torch.Tensor, gt: np.ndarray | None = None, alpha: float = 0.5) -> Image.Image:
    """224 x 224 overlay of a min-max normalised upsampled heatmap on the image, GT outline in white."""
    S = 224
    img = np.asarray(Image.fromarray(image_u8).resize((S, S), Image.BILINEAR), dtype=np.float32)
    h = normalize_maps(upsample(heat.unsqueeze(0)))[0].numpy()
    h = np.nan_to_num(h)
    out = (img * (1 - alpha) + jet(h).astype(np.float32) * alpha).astype(np.uint8)
    im = Image.fromarray(out)
    if gt is not None and gt.any():
        edge = np.zeros_like(gt, dtype=bool)
        g = gt > 0
        edge[1:, :] |= g[1:, :] != g[:-1, :]
        edge[:, 1:] |= g[:, 1:] != g[:, :-1]
        a = np.asarray(im).copy()
        a[edge] = 255
        im = Image.fromarray(a)
    return im


def draw_overlays(ds, heat: torch.Tensor, res: Dict[str, Any], folder: str, n: int = 8) -> None:
    os.makedirs(folder, exist_ok=True)
    for k, idx in enumerate(res["indices"][:n]):
        it = ds[idx]
        im = overlay(it["image_u8"].numpy(), heat[idx], it["gt"].numpy())
        d = ImageDraw.Draw(im)
        d.text((4, 4), f"cIoU {res['per_item']['ciou'][k]:.2f}", fill="white")
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(ds.items[idx]["id"]))
        im.save(os.path.join(folder, f"{k:03d}_{safe}.png"))
