"""Pretrained visual trunks that ship inside npm packages, as AVIN visual encoders.

No model hub is reachable from avloc's machines, but npm is: `@vladmandic/human` carries a COCO
CenterNet (MobileNetV3 backbone, ImageNet-initialised, detection-trained on COCO's 80 classes) as a
TF.js graph model. It is a dev dependency of the repository, so `npm install` puts it in
node_modules/; `tfjs_graph.TFJSGraph` turns it into a PyTorch module there, at build time. No
weights are committed: a bundle's visual.onnx carries them, and its card names the package,
version, file and licence (`provenance`).

A trunk is cut at one or more named nodes, average-pooled to the coarsest one's stride and
concatenated; `pool` pools the result further if the grid should be coarser.
"""
from __future__ import annotations

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .imagenet import IMAGENET_MEAN, IMAGENET_STD
from .tfjs_graph import TFJSGraph
from .trunk_specs import REPO_ROOT, TRUNKS, cut_stride

def trunk_json(name: str, root: str = REPO_ROOT) -> str:
    t = TRUNKS[name]
    pkg = os.path.join(root, "node_modules", *t["package"].split("/"))
    try:
        with open(os.path.join(pkg, "package.json")) as f:
            version = json.load(f)["version"]
    except FileNotFoundError:
        raise FileNotFoundError(f"trunk {name!r} needs the npm package {t['package']}@{t['version']} "
                                f"(a dev dependency: run `npm install` at {root})") from None
    if version != t["version"]:
        raise RuntimeError(f"trunk {name!r}: {t['package']} is {version} in node_modules, expected {t['version']}")
    return os.path.join(pkg, t["file"])


def provenance(name: str, cut: str) -> dict:
    t = TRUNKS[name]
    return {"trunk": name, "package": t["package"], "version": t["version"], "file": t["file"],
            "license": t["license"], "what": t["what"], "cut": " + ".join(n for n, _, _ in t["cuts"][cut]),
            "cut_stride": cut_stride(name, cut)}


class PretrainedTrunk(nn.Module):
    """ImageNet-normalised NCHW (the toolkit's visual input) -> the trunk's map at `cut`, pooled.

    The graph wants RGB 0-255, so the normalisation is undone first: two elementwise ops, which
    keeps one image convention across every visual encoder and bundle."""

    def __init__(self, name: str, cut: str, image_size: int, pool: int = 1):
        super().__init__()
        nodes = TRUNKS[name]["cuts"][cut]
        self.graph = TFJSGraph(trunk_json(name), [n for n, _, _ in nodes], (image_size, image_size))
        top = cut_stride(name, cut)
        self.pools = [top // s for _, s, _ in nodes]      # each node's map to the cut's stride
        self.pool = pool
        self.out_channels = sum(c for _, _, c in nodes)
        self.stride = top * pool
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)
        # per-channel standardisation of the output, a frozen BatchNorm set from training images
        # (set_output_stats): the trunk's raw activations run to tens, and AVIN's distance loss
        # on unnormalised vectors then swamps its contrastive term
        self.register_buffer("out_mean", torch.zeros(1, self.out_channels, 1, 1))
        self.register_buffer("out_std", torch.ones(1, self.out_channels, 1, 1))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised NCHW -> the cut's maps, pooled and concatenated, not standardised."""
        maps = self.graph(x * self.std + self.mean)
        maps = [maps] if isinstance(maps, torch.Tensor) else maps
        y = torch.cat([F.avg_pool2d(m, k) if k > 1 else m for m, k in zip(maps, self.pools)], 1)
        return F.avg_pool2d(y, self.pool) if self.pool > 1 else y

    def standardise(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.out_mean.to(y.dtype)) / self.out_std.to(y.dtype)

    def set_output_stats(self, raw_maps: torch.Tensor) -> None:
        """Per-channel mean and std of raw maps [N, C, h, w] (e.g. the training scenes')."""
        x = raw_maps.float().transpose(0, 1).reshape(self.out_channels, -1)
        self.out_mean.copy_(x.mean(1).view(1, -1, 1, 1))
        self.out_std.copy_(x.std(1).clamp_min(1e-3).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.standardise(self.raw(x))
