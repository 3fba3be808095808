"""Where to cut a pretrained trunk: a box-supervised linear probe per candidate cut.

  python3 -m avloc_corpus.reports.cut_probe [--size 224] [--n-train 1200]

For each candidate node of the CenterNet graph (avloc_toolkit/trunks.py), its map at the AVIN grid
(stride 16) feeds a linear classifier of each cell's class (the category of the object drawn there,
or background), fitted on train scenes' boxes; on val scenes the map of the sounding category's
logit is scored with the AVIN protocol. It uses labels and boxes, which no training step sees: it
measures how well a cut's features *can* localize these categories, to choose the cut (on val,
never test). Also scores the concatenation of the best backbone and head cuts.
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.nn.functional as F

from avloc_toolkit.metrics import metrics_from_heatmaps
from avloc_toolkit.tfjs_graph import TFJSGraph
from avloc_toolkit.trunks import trunk_json

from ..paths import corpus_dir
from ..scenes.scene_cache import cell_labels, gt_maps, load_split

CANDIDATES = {
    "backbone block 9 (s16)": "tower_0/MobilenetV3/expanded_conv_9/add",
    "backbone block 11 (s16)": "tower_0/MobilenetV3/expanded_conv_11/add",
    "head, stride 16": "tower_0/CenternetHead/Relu",
    "head, stride 8": "tower_0/CenternetHead/Relu_1",
    "neck, stride 4 (class head input)": "tower_0/CenternetHead/mul",
}
PAIRS = {"block 9 + head s8": ("backbone block 9 (s16)", "head, stride 8"),
         "block 9 + block 11": ("backbone block 9 (s16)", "backbone block 11 (s16)")}


@torch.no_grad()
def maps(graph: TFJSGraph, images: torch.Tensor, size: int, grid: int) -> list:
    out = [[] for _ in graph.outputs]
    for i in range(0, len(images), 32):
        x = F.interpolate(images[i:i + 32].permute(0, 3, 1, 2).float(), (size, size), mode="bilinear",
                          align_corners=False, antialias=True)
        for k, m in enumerate(graph(x)):
            out[k].append(F.adaptive_avg_pool2d(m, grid).half())
    return [torch.cat(o) for o in out]


def probe(ftr, ytr, fva, va_items, cats, gt, steps: int = 300) -> dict:
    X = ftr.float().permute(0, 2, 3, 1).reshape(-1, ftr.shape[1])
    mu, sd = X.mean(0), X.std(0) + 1e-5
    X = (X - mu) / sd
    W = torch.zeros(X.shape[1], len(cats) + 1, requires_grad=True)
    b = torch.zeros(len(cats) + 1, requires_grad=True)
    opt = torch.optim.Adam([W, b], 1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(X @ W + b, ytr.reshape(-1))
        opt.zero_grad(), loss.backward(), opt.step()
    with torch.no_grad():
        logit = ((fva.float().permute(0, 2, 3, 1) - mu) / sd) @ W + b
    idx = [cats.index(it["sounding_category"]) + 1 if it["sounding_category"] in cats else 0 for it in va_items]
    heat = torch.stack([logit[i, :, :, k] for i, k in enumerate(idx)])
    r = metrics_from_heatmaps(heat, gt, "avin")
    return {"ciou@0.5": float(r["ciou@0.5"]), "auc": float(r["auc"])}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=corpus_dir())
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--n-train", type=int, default=1200)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    tr = load_split(os.path.join(a.data, "train"), 16000)
    va = load_split(os.path.join(a.data, "val"), 16000)
    grid = a.size // 16
    graph = TFJSGraph(trunk_json("centernet-mnv3"), list(CANDIDATES.values()), (a.size, a.size)).eval()
    ftr = dict(zip(CANDIDATES, maps(graph, tr["images"][:a.n_train], a.size, grid)))
    fva = dict(zip(CANDIDATES, maps(graph, va["images"], a.size, grid)))
    for name, (x, y) in PAIRS.items():
        ftr[name], fva[name] = torch.cat([ftr[x], ftr[y]], 1), torch.cat([fva[x], fva[y]], 1)
    items = tr["items"][:a.n_train]
    cats = sorted({o["category"] for it in items for o in it["objects"]})
    side = tr["images"].shape[1]
    ytr = cell_labels(items, cats, side, grid)
    gt = gt_maps(va["items"], side, side)
    print(f"{'cut':<36}{'channels':>9}{'val cIoU@0.5':>14}{'AUC':>8}   (input {a.size}, grid {grid})")
    for name in ftr:
        r = probe(ftr[name], ytr, fva[name], va["items"], cats, gt)
        print(f"{name:<36}{ftr[name].shape[1]:>9}{r['ciou@0.5']:>14.3f}{r['auc']:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
