"""The two self-supervised objectives trained identically on the corpus.

avin:  the toolkit's official AVIN objective (contrastive over induction vectors + distance).
ezvsl: EZ-VSL's multiple-instance contrastive loss (Mo & Morgado, ECCV 2022): the score of an
       image-audio pair is the max over cells of the cosine similarity, divided by tau, and a
       symmetric cross-entropy picks each clip's own image within the batch.
Neither sees a label or a box.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from avloc_toolkit.losses import avin_losses


def ezvsl_loss(fv_map: torch.Tensor, fa: torch.Tensor, tau: float = 0.03) -> torch.Tensor:
    img = F.normalize(fv_map, dim=1)
    aud = F.normalize(fa, dim=1)
    S = torch.einsum("nchw,mc->nmhw", img, aud) / tau
    logits = S.flatten(2).max(dim=2)[0]
    labels = torch.arange(len(fa), device=fa.device)
    return F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)


def loss_for(method: str, fv_map: torch.Tensor, fa: torch.Tensor, cfg) -> dict:
    if method == "avin":
        con, dist = avin_losses(fv_map, fa, cfg.tp, cfg.tn, cfg.ts, cfg.tc, cfg.margin)
        return {"loss": con + dist, "contrastive": con, "distance": dist}
    if method == "ezvsl":
        l = ezvsl_loss(fv_map, fa)
        return {"loss": l, "contrastive": l}
    raise ValueError(f"unknown method {method!r}")
