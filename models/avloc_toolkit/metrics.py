"""AVIN's localization metrics, exactly as its evaluation computes them: per-map min-max
normalisation, bilinear upsampling to 224, cIoU@0.5, AUC over thresholds 0..1, NSA; and the
LVS/EZ-VSL median-threshold protocol. Pure functions over tensors (no data, no model).
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import torch
import torch.nn.functional as F

from .data import EVAL_SIZE

AUC_THRESHOLDS = [0.05 * i for i in range(21)]


def normalize_maps(x: torch.Tensor) -> torch.Tensor:
    """Per-map min-max over the last two dims (AVIN normalize_img)."""
    B = x.shape[0]
    flat = x.reshape(B, -1)
    vmin = flat.min(1)[0].view(B, 1, 1)
    vmax = flat.max(1)[0].view(B, 1, 1)
    return (x - vmin) / (vmax - vmin)


def upsample(heat: torch.Tensor, size: int = EVAL_SIZE, align_corners: bool = False) -> torch.Tensor:
    return F.interpolate(heat.unsqueeze(1).float(), (size, size), mode="bilinear",
                         align_corners=align_corners).squeeze(1)


def trapezoid_auc(x, y) -> float:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def prediction_maps(heat: torch.Tensor, protocol: str = "avin") -> torch.Tensor:
    """Binary prediction maps [B, 224, 224] from raw heatmaps [B, h, w]."""
    if protocol == "avin":
        pred = normalize_maps(upsample(heat, align_corners=False))
        return (pred >= 0.5).float()
    if protocol == "median":
        pred = normalize_maps(upsample(heat, align_corners=True))
        B = pred.shape[0]
        flat = pred.reshape(B, -1)
        thr = flat.sort(1)[0][:, int(flat.shape[1] * 0.5)].view(B, 1, 1)
        return (pred >= thr).float()
    raise ValueError("protocol must be 'avin' or 'median'")


def per_item_scores(infer: torch.Tensor, gt: torch.Tensor):
    gt = gt.float()
    inter = (infer * gt).sum((1, 2))
    union = gt.sum((1, 2)) + (infer * (gt == 0)).sum((1, 2))
    ciou = inter / union
    non_gt = (gt == 0).float()
    nsa = 1 - (infer * non_gt).sum((1, 2)) / non_gt.sum((1, 2))
    return ciou, nsa


def metrics_from_heatmaps(heat: torch.Tensor, gt: torch.Tensor, protocol: str = "avin") -> Dict[str, Any]:
    """heat [B, h, w] raw heatmaps, gt [B, 224, 224] binary. Returns cIoU@0.5, AUC, NSA, curve, per item."""
    infer = prediction_maps(heat, protocol)
    ciou, nsa = per_item_scores(infer, gt)
    curve = [float(((ciou >= t) + 0.0).mean()) for t in AUC_THRESHOLDS]
    valid = ~torch.isnan(nsa)
    return {
        "protocol": protocol,
        "n": int(heat.shape[0]),
        "ciou@0.5": float(((ciou >= 0.5) + 0.0).mean()),
        "auc": trapezoid_auc(AUC_THRESHOLDS, curve),
        "nsa": float(nsa[valid].mean()) if bool(valid.any()) else float("nan"),
        "mean_ciou": float(torch.nan_to_num(ciou).mean()),
        "curve": {"thresholds": AUC_THRESHOLDS, "fraction": curve},
        "per_item": {"ciou": [float(c) for c in ciou], "nsa": [float(c) for c in nsa]},
    }
