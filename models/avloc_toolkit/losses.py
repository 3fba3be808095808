"""AVIN training objective, following the official AVIN-RN ``models/avmodels.py``.

Notation: B batch, C channels, H x W grid.
  fv_map  [B, C, H, W]  projected visual map (v_proj output, not normalised)
  ind_vec [B, C]        induction vector = global average of fv_map
  fa      [B, C]        projected audio vector (a_proj output, not normalised)

Pieces (each a function, unit-tested on small tensors):
  similarity_maps    S[i, j, h, w] = cos(fv_map[i, :, h, w], ind_vec[j])
  adaptive_masks     pos/neg thresholds = the (tp*HW)-th largest / (tn*HW)-th smallest cell of
                     each S[i, j]; soft masks m_p = sigmoid((S - thr_p)/ts),
                     m_n = 1 - sigmoid((S - thr_n)/ts), ts = 0.03
  pooled_scores      SP = sum(S m_p)/sum(m_p), SN = sum(S m_n)/sum(m_n)  [B, B]
  contrastive_loss   symmetric InfoNCE over [SP | SN] / tc (tc = 0.07), labels = diagonal:
                     (CE([SP, SN]/tc, arange B) + CE([SP^T, SN^T]/tc, arange B)) / 2
  distance_loss      D[i, j] = ||ind_vec[i].detach() - fa[j] + 1e-6||^2 (F.pairwise_distance),
                     weights w = I - (1-I)*cos(ind_i, ind_j) (detached), mask = I - (1-I)/(B-1),
                     L = (mean_i relu(sum_j (D w mask)[i, j] + m) + mean_j relu(sum_i (...) + m)) / 2
                     with margin m = 0.6.

Notes where paper and code differ (we follow the code):
  * the contrastive term contrasts visual cells with *visual* induction vectors of the other
    images in the batch; audio enters only through the distance loss;
  * negatives in the logits include SN for every pair, including the diagonal SN[i, i];
  * the distance is computed on un-normalised vectors with F.pairwise_distance's eps = 1e-6
    added to the difference; off-diagonal terms enter as +cos_ij * D_ij / (B-1) (the two minus
    signs of w and mask cancel).
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F


def similarity_maps(fv_map: torch.Tensor, ind_vec: torch.Tensor) -> torch.Tensor:
    fv_n = F.normalize(fv_map, dim=1, p=2)
    ind_n = F.normalize(ind_vec, dim=1, p=2)
    return torch.einsum("ichw,jc->ijhw", fv_n, ind_n)


def adaptive_masks(S: torch.Tensor, tp: float, tn: float, ts: float = 0.03):
    B1, B2, H, W = S.shape
    flat = S.reshape(B1, B2, H * W)
    kp = int(H * W * tp)
    kn = int(H * W * tn)
    pos_thr = flat.topk(kp, dim=2)[0][:, :, -1][:, :, None, None]
    neg_thr = flat.topk(kn, dim=2, largest=False)[0][:, :, -1][:, :, None, None]
    m_p = torch.sigmoid((S - pos_thr) / ts)
    m_n = 1 - torch.sigmoid((S - neg_thr) / ts)
    return m_p, m_n, pos_thr, neg_thr


def pooled_scores(S: torch.Tensor, m_p: torch.Tensor, m_n: torch.Tensor):
    SP = (S * m_p).sum((2, 3)) / m_p.sum((2, 3))
    SN = (S * m_n).sum((2, 3)) / m_n.sum((2, 3))
    return SP, SN


def contrastive_loss(SP: torch.Tensor, SN: torch.Tensor, tc: float = 0.07) -> torch.Tensor:
    B = SP.shape[0]
    labels = torch.arange(B, device=SP.device)
    logits1 = torch.hstack([SP, SN]) / tc
    logits2 = torch.hstack([SP.T, SN.T]) / tc
    return (F.cross_entropy(logits1, labels) + F.cross_entropy(logits2, labels)) / 2


def distance_loss(ind_vec: torch.Tensor, fa: torch.Tensor, margin: float = 0.6) -> torch.Tensor:
    B = ind_vec.shape[0]
    dev = ind_vec.device
    eye = torch.eye(B, device=dev)
    mask = eye - (1 - eye) / (B - 1)
    ind_d = ind_vec.detach()
    # all pairs at once: the official row-by-row F.pairwise_distance (eps 1e-6 added to the
    # difference) as one exact cdist (no matmul expansion, so no cancellation), which cost
    # B kernel launches per step on a GPU and 7x the time on a CPU at batch 128
    dist = torch.cdist(ind_d + 1e-6, fa, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    ind_n = F.normalize(ind_d, dim=1, p=2)
    vv = ind_n @ ind_n.T
    w = -vv * (1 - eye) + eye
    dm = dist * w * mask
    loss3 = torch.clamp(dm.sum(1) + margin, min=0).mean()
    loss4 = torch.clamp(dm.sum(0) + margin, min=0).mean()
    return (loss3 + loss4) / 2


def avin_losses(fv_map: torch.Tensor, fa: torch.Tensor, tp: float = 0.3, tn: float = 0.5,
                ts: float = 0.03, tc: float = 0.07, margin: float = 0.6) -> Tuple[torch.Tensor, torch.Tensor]:
    """Returns (contrastive, distance); the official total loss is their sum."""
    if fv_map.shape[0] < 2:
        raise ValueError("AVIN losses need a batch of at least 2")
    ind_vec = fv_map.mean((2, 3))
    S = similarity_maps(fv_map, ind_vec)
    m_p, m_n, _, _ = adaptive_masks(S, tp, tn, ts)
    SP, SN = pooled_scores(S, m_p, m_n)
    return contrastive_loss(SP, SN, tc), distance_loss(ind_vec, fa, margin)


# ---------------------------------------------------------------------------------------------
# The EZ-VSL baseline, trained identically on the corpus (Mo & Morgado, ECCV 2022): the score of
# an image-audio pair is the max over cells of the cosine similarity, divided by tau, and a
# symmetric cross-entropy picks each clip's own image within the batch. Neither objective sees a
# label or a box. `loss_for` names them for the training commands.

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
