"""Trivial references that see neither picture nor sound.

centre: a Gaussian bump in the middle of the grid (sigma = a quarter of the side), evaluated
        like any heatmap; it scores what a dataset's centre bias alone gives.
whole:  the whole image predicted as the source: cIoU equals the box's share of the image.
"""
from __future__ import annotations

from typing import Dict

import torch

from avloc_toolkit.metrics import AUC_THRESHOLDS, metrics_from_heatmaps, per_item_scores, trapezoid_auc


def centre_heatmaps(n: int, h: int, w: int) -> torch.Tensor:
    ys = (torch.arange(h) + 0.5) / h - 0.5
    xs = (torch.arange(w) + 0.5) / w - 0.5
    r2 = ys[:, None] ** 2 + xs[None, :] ** 2
    return torch.exp(-r2 / (2 * 0.25 ** 2)).expand(n, h, w).clone()


def whole_image_metrics(gt: torch.Tensor) -> Dict:
    infer = torch.ones_like(gt)
    ciou, nsa = per_item_scores(infer, gt)
    curve = [float(((ciou >= t) + 0.0).mean()) for t in AUC_THRESHOLDS]
    return {"protocol": "avin", "n": int(len(gt)), "ciou@0.5": float(((ciou >= 0.5) + 0.0).mean()),
            "auc": trapezoid_auc(AUC_THRESHOLDS, curve), "nsa": float(torch.nan_to_num(nsa).mean()),
            "mean_ciou": float(ciou.mean()), "per_item": {"ciou": [float(c) for c in ciou]}}


def centre_metrics(gt: torch.Tensor, h: int, w: int) -> Dict:
    return metrics_from_heatmaps(centre_heatmaps(len(gt), h, w), gt, "avin")
