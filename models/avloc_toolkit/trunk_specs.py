"""The pretrained visual trunks avloc can use, as data: which npm package and file holds each, its
licence, and the named cuts (nodes, strides, channels). Pure: config.py reads strides from it
without importing torch; trunks.py builds the modules.
"""
from __future__ import annotations

import os

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

TRUNKS = {
    "centernet-mnv3": {
        "package": "@vladmandic/human",
        "version": "3.3.6",
        "file": "models/centernet.json",
        "license": "the package is MIT; the upstream CenterNet weights carry no licence file of their own",
        "what": "CenterNet object detector (COCO, 80 classes) on a MobileNetV3 backbone (ImageNet), TF.js graph model, float16 weights",
        "input": "RGB 0-255, 512 x 512 native (fully convolutional; other sizes rescale its upsampling)",
        # cut name -> the nodes it reads, each (node, stride of its map, channels); several nodes are
        # average-pooled to the coarsest stride and concatenated. "bb9+head8" was chosen by a
        # box-supervised linear probe on val scenes (models/README.md): the backbone's stride-16
        # block 9 (ImageNet-level parts) with the head's stride-8 fusion (COCO objects) beat any
        # single cut, and the stride-4 neck (the class head's input) localizes worst off COCO's domain
        "cuts": {
            "bb9+head8": (("tower_0/MobilenetV3/expanded_conv_9/add", 16, 64), ("tower_0/CenternetHead/Relu_1", 8, 192)),
            # the same with the COCO class logits (the detector's 80-class heatmap before its sigmoid,
            # stride 4, average-pooled): on photographs they already say "dog here"
            "bb9+head8+cls": (("tower_0/MobilenetV3/expanded_conv_9/add", 16, 64), ("tower_0/CenternetHead/Relu_1", 8, 192),
                              ("tower_0/CenternetHead/centernet_cls_output/BiasAdd", 4, 80)),
            "neck": (("tower_0/CenternetHead/mul", 4, 128),),
            "neck16": (("tower_0/CenternetHead/Relu", 16, 256),),
            "backbone16": (("tower_0/MobilenetV3/expanded_conv_11/add", 16, 88),),
        },
    },
}


def cut_stride(name: str, cut: str) -> int:
    """The stride of a cut's map: its coarsest node's."""
    return max(stride for _, stride, _ in TRUNKS[name]["cuts"][cut])
