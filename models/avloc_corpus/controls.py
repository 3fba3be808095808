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


def level_db(waves: torch.Tensor) -> np.ndarray:
    """RMS level of each window in dBFS, floored at -100 (what the service computes, heatmap.ts levelDb)."""
    w = waves.float()
    return (20 * torch.log10(w.square().mean(1).sqrt() + 1e-12)).clamp(min=-100).numpy()


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 2000) -> tuple:
    """P(y=1 | x) = sigmoid(x @ w + b) for x [N] or [N, k], maximum likelihood (L-BFGS on
    standardised features). Returns (w as a list, b)."""
    xt = torch.tensor(x, dtype=torch.float64).reshape(len(x), -1)
    yt = torch.tensor(y, dtype=torch.float64)
    mu, sd = xt.mean(0), xt.std(0).clamp_min(1e-9)
    p = torch.zeros(xt.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], max_iter=steps)

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(((xt - mu) / sd) @ p[:-1] + p[-1], yt)
        loss.backward()
        return loss

    opt.step(closure)
    w = p[:-1].detach() / sd
    return w.tolist(), float(p[-1].detach() - (w * mu).sum())


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


def groups(items: List[Dict]) -> Dict[str, np.ndarray]:
    """Masks of the test breakdown: all, by number of objects, by the sounding picture's style."""
    out = {"all": np.ones(len(items), bool)}
    for k in (1, 2, 3):
        out[f"{k} object(s)"] = np.array([len(it["objects"]) == k for it in items])
    out["2-3 objects"] = np.array([len(it["objects"]) >= 2 for it in items])
    for s in ("photo", "drawing", "emoji"):
        out[s] = np.array([style(it["objects"][it["sounding_index"]]["asset"]) == s for it in items])
    return {k: v for k, v in out.items() if v.any()}


def scored(heats: torch.Tensor, gt: torch.Tensor, items: List[Dict]) -> Dict:
    from avloc_toolkit.evaluate import metrics_from_heatmaps
    r = metrics_from_heatmaps(heats, gt, "avin")
    ciou = np.array(r["per_item"]["ciou"])
    return {g: {"n": int(m.sum()), "ciou@0.5": float((ciou[m] >= 0.5).mean()), "mean_ciou": float(ciou[m].mean())}
            for g, m in groups(items).items()} | {"auc": float(r["auc"])}


def main(argv=None) -> None:
    """python3 -m avloc_corpus.controls CKPT --out DIR: fits the sounding calibration on val, then
    scores test with matched audio, shuffled (off-screen) audio and the trunk's objectness, and the
    sounding AUROC; writes DIR/controls.json and DIR/sounding.json (the card's `sounding`)."""
    import argparse
    import json
    import os

    from . import packages
    from .report import load_ckpt
    from .scene_cache import gt_maps, load_split

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("checkpoint")
    p.add_argument("--data", default=packages.corpus_dir())
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    model, _ = load_ckpt(a.checkpoint)
    rate = model.cfg.sample_rate
    va = load_split(os.path.join(a.data, "val"), rate)
    sv = sounding_scores(model, va["images"], va["waves"], va["items"], seed=1)
    x = np.concatenate(list(sv.values()))
    y = np.concatenate([np.full(len(v), k == "sounding", float) for k, v in sv.items()])
    # negatives outnumber positives 3:1; weight them so the fit's 0.5 means "as likely as not"
    reps = np.where(y == 1, 3, 1)
    (a_,), b_ = fit_logistic(np.repeat(x, reps), np.repeat(y, reps))
    te = load_split(os.path.join(a.data, "test"), rate)
    items = te["items"]
    gt = gt_maps(items, te["images"].shape[2], te["images"].shape[1])
    st = sounding_scores(model, te["images"], te["waves"], items, seed=2)
    prob = {k: 1 / (1 + np.exp(-(a_ * v + b_))) for k, v in st.items()}
    feats, objectness = visual(model, te["images"])
    w = te["waves"].float() / 32767.0 if te["waves"].dtype == torch.int16 else te["waves"]
    own = embeddings(model, w)
    shuffled = own[torch.from_numpy(offscreen_partner(items, seed=3))]
    res = {
        "matched audio": scored(heatmap(feats, own), gt, items),
        "shuffled audio (another scene's, its source not in view)": scored(heatmap(feats, shuffled), gt, items),
        "trunk objectness (feature norm, no audio)": scored(objectness, gt, items),
        "sounding": {"val": sounding_report(sv), "test": sounding_report(st),
                     "test accuracy at 0.5": {k: float(((v >= 0.5) == (k == "sounding")).mean()) for k, v in prob.items()}},
    }
    cal = {"score": "peak", "logistic": {"a": a_, "b": b_},
           "fitted": "val split: each scene with its own audio against the same picture with silence, noise "
                     "(-60..-20 dBFS) and an off-screen sound, negatives weighted 1/3",
           "auroc": {"val": res["sounding"]["val"]["auroc"], "test": res["sounding"]["test"]["auroc"]}}
    with open(os.path.join(a.out, "controls.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(a.out, "sounding.json"), "w") as f:
        json.dump(cal, f, indent=1)
    print(f"{'test':<58}" + "".join(f"{g:>14}" for g in groups(items)))
    for name, r in res.items():
        if name != "sounding":
            print(f"{name:<58}" + "".join(f"{r[g]['ciou@0.5']:>14.3f}" for g in groups(items)))
    print("sounding AUROC val", json.dumps(res["sounding"]["val"]), "test", json.dumps(res["sounding"]["test"]))
    print("calibration", json.dumps(cal["logistic"]), "test accuracy at 0.5", json.dumps(res["sounding"]["test accuracy at 0.5"]))


if __name__ == "__main__":
    main()
