"""Controls that tell a sound localizer from a saliency detector, and "nothing is sounding".

* shuffled audio: each scene's map made with the audio of another scene whose sounding category
  is not in view. If the score barely drops, the map follows the picture, not the sound.
* objectness: the visual encoder's own feature norm per cell, no audio at all: what the trunk
  alone would draw.
* the sounding score: a frame's peak cosine (the heatmap's maximum, AVIN's similarity scale),
  calibrated on val by a logistic fit into P(something in view is sounding). Positives: each scene
  with its own audio. Negatives: the same picture with silence, with noise, and with an off-screen
  sound (another scene's audio whose category is not in the picture).
* style: the sounding object's picture kind — a real photograph, a drawing, or an emoji.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from avloc_toolkit.model import AVIN, centred_features, heatmap

from .scene_cache import audio_features, to_input


def style(asset: str) -> str:
    kind, _, ref = asset.partition(":")
    if kind == "file" and "tuxpaint" in ref and "/cartoon/" not in ref:
        return "photo"
    if kind in ("rcc_svg", "file", "openclipart"):
        return "drawing"
    return "emoji"


def offscreen_partner(items: List[Dict], seed: int = 0) -> np.ndarray:
    """For each scene, another scene whose sounding category is none of this scene's objects."""
    rng = np.random.default_rng(seed)
    cats = [it["sounding_category"] for it in items]
    out = np.zeros(len(items), dtype=np.int64)
    for i, it in enumerate(items):
        present = {o["category"] for o in it["objects"]}
        pool = [j for j in range(len(items)) if j != i and cats[j] not in present]
        out[i] = rng.choice(pool)
    return out


@torch.no_grad()
def embeddings(model: AVIN, waves: torch.Tensor) -> torch.Tensor:
    cfg = model.cfg
    return F.normalize(model.a_proj(audio_features(model.a_encoder, waves, cfg.window_samples, 1)[:, 0]), dim=1)


@torch.no_grad()
def visual(model: AVIN, images: torch.Tensor, batch: int = 64):
    """(centred, normalised contract features [N, C, h, w], trunk objectness [N, h, w])."""
    feats, norms = [], []
    for i in range(0, len(images), batch):
        enc = model.v_encoder(to_input(images[i:i + batch], model.cfg.image_size))
        feats.append(centred_features(model.v_proj(enc), model.cfg.feature_centering))
        norms.append(enc.norm(dim=1))
    return torch.cat(feats), torch.cat(norms)


def negative_waves(waves: torch.Tensor, partner: np.ndarray, seed: int = 0) -> Dict[str, torch.Tensor]:
    """The three kinds of "nothing in view is sounding" for every scene."""
    g = torch.Generator().manual_seed(seed)
    w = waves.float() / 32767.0 if waves.dtype == torch.int16 else waves
    level = 10 ** (torch.empty(len(w), 1).uniform_(-3, -1, generator=g))      # -60 .. -20 dBFS RMS
    noise = torch.randn(w.shape, generator=g) * level
    return {"silence": torch.zeros_like(w), "noise": noise.clamp(-1, 1), "off-screen": w[torch.from_numpy(partner)]}


def peak(h: torch.Tensor) -> torch.Tensor:
    return h.flatten(1).max(1).values


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties half (the Mann-Whitney statistic)."""
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    ranks[order] = np.arange(1, len(allv) + 1)
    for v in np.unique(allv):                        # average ranks of ties
        m = allv == v
        if m.sum() > 1:
            ranks[m] = ranks[m].mean()
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 2000) -> tuple:
    """P(y=1 | x) = sigmoid(a * x + b), maximum likelihood by gradient descent (one feature)."""
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    mu, sd = float(xt.mean()), float(xt.std()) or 1.0
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], max_iter=steps)

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(p[0] * (xt - mu) / sd + p[1], yt)
        loss.backward()
        return loss

    opt.step(closure)
    a = float(p[0]) / sd
    return a, float(p[1]) - a * mu


def sounding_scores(model: AVIN, images: torch.Tensor, waves: torch.Tensor, items: List[Dict], seed: int = 0):
    """Peak cosine of every scene with its own audio and with each kind of negative."""
    feats, _ = visual(model, images)
    partner = offscreen_partner(items, seed)
    w = waves.float() / 32767.0 if waves.dtype == torch.int16 else waves
    out = {"sounding": peak(heatmap(feats, embeddings(model, w))).numpy()}
    for kind, nw in negative_waves(waves, partner, seed).items():
        out[kind] = peak(heatmap(feats, embeddings(model, nw))).numpy()
    return out


def sounding_report(scores: Dict[str, np.ndarray]) -> Dict:
    pos = scores["sounding"]
    neg = np.concatenate([v for k, v in scores.items() if k != "sounding"])
    r = {"auroc": auroc(pos, neg)}
    for k, v in scores.items():
        if k != "sounding":
            r[f"auroc vs {k}"] = auroc(pos, v)
    return r
