"""Choose a scene checkpoint's feature centering on the val split, and record it beside it.

  python3 -m avloc_corpus.training.centering .cache/runs/v2/avin-ft-ml/best.pt [--data CORPUS]

Why: an AVIN map lights every object and some scenery, because each cell's features share a
component with the whole frame (the induction vector, the mean cell) that the audio embedding
also carries. Subtracting a multiple of the frame's mean cell before the normalisation
(`AVINConfig.feature_centering`, inside the visual graph, so the contract's features and heatmap
are unchanged in form) keeps what sets a cell apart from its frame. The multiple is picked from a
fixed grid by val cIoU@0.5 (ties: the smaller), never on test (the grid first stopped at 2, and was
extended to 3 when 2 won for AVIN); writes centering.json beside the checkpoint, which
`checkpoints.load_ckpt` and `ship` read.
"""
from __future__ import annotations

import argparse
import json
import os

import torch

from avloc_toolkit.metrics import metrics_from_heatmaps
from avloc_toolkit.model import AVIN, centred_features, heatmap

from ..paths import corpus_dir
from ..scenes.scene_cache import embed, gt_maps, load_split
from .checkpoints import load_ckpt, sidecar

GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def scan(model: AVIN, split: dict, grid=GRID) -> dict:
    fv, fa = embed(model, split["images"], split["waves"])
    imgs = split["images"]
    gt = gt_maps(split["items"], imgs.shape[2], imgs.shape[1])
    out = {}
    for lam in grid:
        r = metrics_from_heatmaps(heatmap(centred_features(fv, lam), fa), gt, "avin")
        out[lam] = {k: r[k] for k in ("ciou@0.5", "auc", "nsa", "mean_ciou")}
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--data", default=corpus_dir())
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pack", help="compose the val split in memory from this asset pack instead of reading the corpus")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, _ = load_ckpt(a.checkpoint)
    if a.pack:
        from ..scenes.pools import split_pools
        from .train_scenes import recompose
        pools, bgs = split_pools(0, model.cfg.sample_rate, a.pack)
        val = recompose(pools["val"], bgs["val"], "val", 300, 0, model.cfg.sample_rate)
    else:
        val = load_split(os.path.join(a.data, "val"), model.cfg.sample_rate)
    res = scan(model, val)
    best = max(res, key=lambda lam: (res[lam]["ciou@0.5"], -lam))
    print(f"{'centering':>10}{'cIoU@0.5':>10}{'AUC':>8}")
    for lam, r in res.items():
        print(f"{lam:>10.2f}{r['ciou@0.5']:>10.4f}{r['auc']:>8.4f}{'  <- chosen' if lam == best else ''}")
    with open(sidecar(a.checkpoint), "w") as f:
        json.dump({"centering": best, "chosen_on": "val cIoU@0.5", "checkpoint": os.path.basename(a.checkpoint),
                   "val": {str(k): v for k, v in res.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
