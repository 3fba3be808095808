"""The sounding score of an exported bundle, fitted and measured in onnxruntime-node.

  python3 -m avloc_corpus.reports.calibrate BUNDLE [--data CORPUS] [--write]

Every val and test scene (its audio at a random gain of -24..0 dB) runs through the bundle's own
graphs (scripts/ort_run.mjs) four times:
with its own audio (something in view sounds) and with silence, noise, and the audio of a scene
whose sounding category is not in view (nothing in view sounds). The heatmap's peak cosine is the
score, with the audio window's level (dBFS RMS, as the service measures it); a logistic fit on val
(fit_logistic, negatives weighted 1/3) turns them into P(something in view is sounding),
and test gives its AUROC. `--write` puts the result in the
card as `sounding` (docs/PROTOCOL.md), which the service then sends with every heatmap.
Use the corpus the bundle was trained on, so val and test stay assets it never saw.
"""
from __future__ import annotations

from typing import Dict

import argparse
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from ..paths import corpus_dir
from ..scenes.scene_cache import as_float_wave, load_split, window_starts
from .controls import offscreen_partner

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def negative_waves(waves: torch.Tensor, partner: np.ndarray, seed: int = 0) -> Dict[str, torch.Tensor]:
    """The three kinds of "nothing in view is sounding" for every scene."""
    g = torch.Generator().manual_seed(seed)
    w = waves.float() / 32767.0 if waves.dtype == torch.int16 else waves
    level = 10 ** (torch.empty(len(w), 1).uniform_(-3, -1, generator=g))      # -60 .. -20 dBFS RMS
    noise = torch.randn(w.shape, generator=g) * level
    return {"silence": torch.zeros_like(w), "noise": noise.clamp(-1, 1), "off-screen": w[torch.from_numpy(partner)]}


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


def bundle_peaks(bundle: str, images: np.ndarray, waves: np.ndarray) -> np.ndarray:
    tmp = tempfile.mkdtemp(prefix="avloc-cal-")
    try:
        images.astype(np.uint8).tofile(os.path.join(tmp, "image.u8"))
        waves.astype("<f4").tofile(os.path.join(tmp, "waveform.f32"))
        subprocess.run(["node", os.path.join(REPO, "models", "scripts", "ort_run.mjs"), os.path.abspath(bundle), tmp],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        heat = np.fromfile(os.path.join(tmp, "heatmap.f32"), dtype="<f4").reshape(len(images), -1)
        return heat.max(1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def split_scores(bundle: str, card: dict, folder: str, seed: int) -> dict:
    rate, T = card["audio"]["sampleRate"], round(card["audio"]["windowSeconds"] * card["audio"]["sampleRate"])
    S = card["visual"]["height"]
    d = load_split(folder, rate)
    x = F.interpolate(d["images"].permute(0, 3, 1, 2).float(), (S, S), mode="bilinear", align_corners=False,
                      antialias=True)
    imgs = x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    s0 = window_starts(d["waves"].shape[1], T, 1)[0]
    w = as_float_wave(d["waves"])
    if w.shape[1] < T:                                   # short clips: zero-padded on the left
        w = F.pad(w, (T - w.shape[1], 0))
    w = w[:, s0:s0 + T]
    # the corpus' sounds are levelled loud; a microphone is not: every window gets a gain of
    # -24..0 dB, so the fit cannot learn "loud means sounding"
    g = torch.Generator().manual_seed(seed + 100)
    w = w * 10 ** (torch.empty(len(w), 1).uniform_(-24, 0, generator=g) / 20)
    out = {"sounding": np.stack([bundle_peaks(bundle, imgs, w.numpy()), level_db(w)], 1)}
    for kind, nw in negative_waves(w, offscreen_partner(d["items"], seed), seed).items():
        out[kind] = np.stack([bundle_peaks(bundle, imgs, nw.numpy()), level_db(nw)], 1)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bundle")
    p.add_argument("--data", default=corpus_dir())
    p.add_argument("--write", action="store_true", help="write the calibration into the bundle's model.json")
    a = p.parse_args(argv)
    card_path = os.path.join(a.bundle, "model.json")
    with open(card_path) as f:
        card = json.load(f)
    val = split_scores(a.bundle, card, os.path.join(a.data, "val"), 1)
    test = split_scores(a.bundle, card, os.path.join(a.data, "test"), 2)
    x = np.concatenate(list(val.values()))
    y = np.concatenate([np.full(len(v), k == "sounding", float) for k, v in val.items()])
    reps = np.where(y == 1, 3, 1)
    (a_, level), b_ = fit_logistic(np.repeat(x, reps, 0), np.repeat(y, reps))
    peak_only = fit_logistic(np.repeat(x[:, 0], reps), np.repeat(y, reps))

    def report(sc):
        prob = {k: 1 / (1 + np.exp(-(a_ * v[:, 0] + level * v[:, 1] + b_))) for k, v in sc.items()}
        pos = prob["sounding"]
        neg = np.concatenate([v for k, v in prob.items() if k != "sounding"])
        return {"auroc": auroc(pos, neg), **{f"auroc vs {k}": auroc(pos, v) for k, v in prob.items() if k != "sounding"},
                "auroc, peak cosine alone": auroc(sc["sounding"][:, 0], np.concatenate(
                    [v[:, 0] for k, v in sc.items() if k != "sounding"])),
                "accuracy at 0.5": {k: float(((v >= 0.5) == (k == "sounding")).mean()) for k, v in prob.items()},
                "mean peak": {k: float(v[:, 0].mean()) for k, v in sc.items()},
                "mean level dBFS": {k: float(v[:, 1].mean()) for k, v in sc.items()}}

    cal = {"score": "peak", "logistic": {"a": a_, "level": level, "b": b_},
           "peak_only_fit": {"a": peak_only[0][0], "b": peak_only[1]},
           "fitted": f"val split of {os.path.basename(os.path.normpath(a.data))} in onnxruntime-node: each scene with its own "
                     "audio (at a random gain of -24..0 dB) against the same picture with silence, noise (-60..-20 dBFS RMS) and a sound whose "
                     "source is not in view; negatives weighted 1/3 (avloc_corpus.reports.calibrate)",
           "val": report(val), "test": report(test)}
    print(json.dumps(cal, indent=1))
    if a.write:
        card["sounding"] = cal
        with open(card_path, "w") as f:
            json.dump(card, f, indent=2)
            f.write("\n")
        print(f"wrote sounding into {card_path}")


if __name__ == "__main__":
    main()
