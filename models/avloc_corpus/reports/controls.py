"""Controls that tell a sound localizer from a saliency detector.

* shuffled audio: each scene's map made with the audio of another scene whose sounding category
  is not in view. If the score barely drops, the map follows the picture, not the sound.
* objectness: the visual encoder's own feature norm per cell, no audio at all: what the trunk
  alone would draw.
* style: the sounding object's picture kind — a real photograph, a drawing, or an emoji.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from avloc_toolkit.model import AVIN, centred_features, heatmap

from ..scenes.scene_cache import as_float_wave, audio_features, to_input
from ..sources.catalog import style


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
    from avloc_toolkit.metrics import metrics_from_heatmaps
    r = metrics_from_heatmaps(heats, gt, "avin")
    ciou = np.array(r["per_item"]["ciou"])
    return {g: {"n": int(m.sum()), "ciou@0.5": float((ciou[m] >= 0.5).mean()), "mean_ciou": float(ciou[m].mean())}
            for g, m in groups(items).items()} | {"auc": float(r["auc"])}


def main(argv=None) -> None:
    """python3 -m avloc_corpus.reports.controls CKPT --out DIR: scores test with matched audio,
    shuffled (off-screen) audio and the trunk's objectness, broken down by object count and picture
    style; writes DIR/controls.json. (The sounding score of a bundle: calibrate.py.)"""
    import argparse
    import json
    import os

    from ..paths import corpus_dir
    from ..scenes.scene_cache import gt_maps, load_split
    from ..training.checkpoints import load_ckpt

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("checkpoint")
    p.add_argument("--data", default=corpus_dir())
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    model, _ = load_ckpt(a.checkpoint)
    te = load_split(os.path.join(a.data, "test"), model.cfg.sample_rate)
    items = te["items"]
    gt = gt_maps(items, te["images"].shape[2], te["images"].shape[1])
    feats, objectness = visual(model, te["images"])
    own = embeddings(model, as_float_wave(te["waves"]))
    shuffled = own[torch.from_numpy(offscreen_partner(items, seed=3))]
    res = {
        "matched audio": scored(heatmap(feats, own), gt, items),
        "shuffled audio (another scene's, its source not in view)": scored(heatmap(feats, shuffled), gt, items),
        "trunk objectness (feature norm, no audio)": scored(objectness, gt, items),
    }
    with open(os.path.join(a.out, "controls.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(f"{'test':<58}" + "".join(f"{g:>14}" for g in groups(items)))
    for name, r in res.items():
        print(f"{name:<58}" + "".join(f"{r[g]['ciou@0.5']:>14.3f}" for g in groups(items)))


if __name__ == "__main__":
    main()
