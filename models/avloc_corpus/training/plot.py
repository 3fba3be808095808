"""Training curves as a PNG with PIL only (no matplotlib here): losses and val cIoU@0.5 / AUC per epoch."""
from __future__ import annotations

import json
from typing import Dict, List

from PIL import Image, ImageDraw

COLORS = {"loss": (31, 119, 180), "contrastive": (255, 127, 14), "distance": (44, 160, 44),
          "visual": (255, 127, 14), "audio": (44, 160, 44), "av": (140, 86, 75), "avin": (23, 190, 207),
          "ezvsl": (188, 189, 34),
          "ciou@0.5": (214, 39, 40), "auc": (148, 103, 189)}


def _panel(d: ImageDraw.ImageDraw, box, series: Dict[str, List], title: str, fixed01: bool) -> None:
    L, T, R, B = box
    d.rectangle(box, outline="black")
    d.text((L + 4, T - 14), title, fill="black")
    pts = [v for s in series.values() for _, v in s]
    if not pts:
        return
    xs = [x for s in series.values() for x, _ in s]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    lo, hi = (0.0, 1.0) if fixed01 else (min(pts), max(pts) + 1e-9)
    if not fixed01 and hi - lo < 1e-6:
        hi = lo + 1
    px = lambda x: L + (x - x0) / (x1 - x0) * (R - L)
    py = lambda v: B - (v - lo) / (hi - lo) * (B - T)
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        d.line([L, py(v), R, py(v)], fill=(230, 230, 230))
        d.text((L - 42, py(v) - 6), f"{v:.3g}", fill="black")
    for x in range(int(x0), int(x1) + 1):
        d.text((px(x) - 3, B + 4), str(x), fill="black")
    for n, (name, s) in enumerate(series.items()):
        col = COLORS.get(name, (0, 0, 0))
        if len(s) > 1:
            d.line([(px(x), py(v)) for x, v in s], fill=col, width=2)
        for x, v in s:
            d.ellipse([px(x) - 2, py(v) - 2, px(x) + 2, py(v) + 2], fill=col)
        d.text((R - 90, T + 4 + 12 * n), name, fill=col)


def plot_curves(log_jsonl: str, out_png: str, title: str = "",
                loss_keys=("loss", "contrastive", "distance")) -> None:
    recs = [json.loads(l) for l in open(log_jsonl) if '"epoch"' in l]
    recs = [r for r in recs if r.get("event") == "epoch"]
    by_epoch = {r["epoch"]: r for r in recs}   # a resumed run may log an epoch twice: keep the last
    ep = sorted(by_epoch)
    losses = {k: [(e, by_epoch[e][k]) for e in ep if k in by_epoch[e]] for k in loss_keys}
    val = {k: [(e, by_epoch[e]["val"][k]) for e in ep if by_epoch[e].get("val")] for k in ("ciou@0.5", "auc")}
    im = Image.new("RGB", (900, 360), "white")
    d = ImageDraw.Draw(im)
    d.text((10, 4), f"{title}: per epoch (x = epoch; epoch 0 = initialisation)", fill="black")
    _panel(d, (60, 40, 430, 320), {k: v for k, v in losses.items() if v}, "training losses", False)
    _panel(d, (510, 40, 880, 320), val, "val cIoU@0.5 and AUC (AVIN protocol)", True)
    im.save(out_png)
