"""Compare scene checkpoints on many fresh val scenes (val-split assets only, never test).

  python3 -m avloc_corpus.reports.compare CKPT [CKPT ...] [--n 2000] [--pack .cache/pack/synth-v3-seed0.pack]

Why: the stored val split has 300 scenes, so two candidates 0.01 apart there are 3 scenes apart;
composing thousands of new scenes from the same val pictures, sounds and backgrounds
(scenes/generate.py, seeded) measures the difference between candidates with far less noise, still without looking at
test. Each checkpoint is scored as report.py would score it (its recorded feature centering).
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from avloc_toolkit.data import boxes_to_gt
from avloc_toolkit.metrics import metrics_from_heatmaps

from ..scenes import generate
from ..scenes.pools import split_pools
from ..training.checkpoints import load_ckpt
from .report import heatmaps


def fresh_val(n: int, pack: str, seed: int = 0, workers: int = 2):
    pools, bgs = split_pools(0, 16000, pack)
    make = generate.scene_arrays(pools["val"], bgs["val"], 160, 3.0, 16000, 0.3)
    d = generate.in_chunks(make, n, f"compare:{seed}", workers)
    gt = np.stack([boxes_to_gt([[int(v) for v in b]], 160, 160) for b in d["boxes"]])
    return torch.from_numpy(d["images"]), torch.from_numpy(d["waves"]), torch.from_numpy(gt)


def score(path: str, images, waves, gt) -> dict:
    model, _ = load_ckpt(path)
    r = metrics_from_heatmaps(heatmaps(model, images, waves), gt, "avin")
    return {"centering": model.cfg.feature_centering, **{k: r[k] for k in ("ciou@0.5", "auc", "nsa", "mean_ciou")}}


def main(argv=None) -> None:
    from ..scenes.pack import default_path
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--pack", default=default_path(0))
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    images, waves, gt = fresh_val(a.n, a.pack, workers=a.workers)
    print(f"{a.n} fresh val scenes")
    print(f"{'checkpoint':<72}{'centering':>10}{'cIoU@0.5':>10}{'AUC':>8}")
    for path in a.checkpoints:
        r = score(path, images, waves, gt)
        print(f"{path:<72}{r['centering']:>10.2f}{r['ciou@0.5']:>10.4f}{r['auc']:>8.4f}", flush=True)


if __name__ == "__main__":
    main()
