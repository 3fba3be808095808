"""Model configuration: the full AVIN-RN size is the default; smaller variants are presets.

Every size-related number of the model lives here so that a checkpoint, an export and a
model card can all be reproduced from one dict (``AVINConfig.to_dict()``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple


@dataclass
class AVINConfig:
    # ---- visual branch: ResNet (BasicBlock) with layer4 stride 1, then a 1x1 projection
    image_size: int = 224                      # square input, H = W
    visual_widths: Tuple[int, ...] = (64, 128, 256, 512)
    visual_blocks: Tuple[int, ...] = (2, 2, 2, 2)   # ResNet-18
    visual_strides: Tuple[int, ...] = (1, 2, 2, 1)  # AVIN: layer4 stride 1 -> total stride 16
    embed_dim: int = 512                       # C: channels of the feature map and the audio vector
    # ---- or a pretrained trunk from an npm package instead of the ResNet (trunks.py): its name,
    # the cut (a named node of it) and an average pooling of the cut's map to the grid
    visual_trunk: str = ""
    visual_cut: str = ""
    visual_pool: int = 1
    # a bias in the 1x1 projection (the official one has none): gives every cell a common
    # component, so a cell whose trunk activations are weak (scenery) lands on one "background"
    # direction after the L2 normalisation instead of pointing anywhere
    visual_proj_bias: bool = False
    # "embedding" (AVIN): the projections map into a learned C-dim space. "classes": the visual
    # projection gives each cell's logits over K categories + background, the audio one the clip's
    # class distribution, and C = K + 2 (model.VisualClassHead: the heatmap is then the sounding
    # classes' logit map)
    proj_kind: str = "embedding"

    # ---- audio branch: PANNs ResNet22 with the log-mel front end inside
    sample_rate: int = 32000
    window_seconds: float = 3.0
    n_fft: int = 1024
    hop_length: int = 320
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float = 14000.0
    audio_widths: Tuple[int, ...] = (64, 128, 256, 512)   # conv_block1 out = widths[0]
    audio_blocks: Tuple[int, ...] = (2, 2, 2, 2)
    audio_embed: int = 2048                    # conv_block_after1 / fc1 width
    proj_hidden: int = 512                     # Audio_Proj: audio_embed -> proj_hidden -> embed_dim

    # ---- objective (official defaults, main.py / avmodels.py)
    tp: float = 0.3
    tn: float = 0.5
    ts: float = 0.03
    tc: float = 0.07
    margin: float = 0.6

    # ---- inference (not in the official code; 0 = official avmap)
    # each cell minus this multiple of its image's induction vector (the mean cell) before the
    # L2 normalisation of `features`: what is common to the whole frame (scenery, "some object")
    # then no longer lights every cell; chosen on val (avloc_corpus.training.centering)
    feature_centering: float = 0.0

    @property
    def window_samples(self) -> int:
        return int(round(self.window_seconds * self.sample_rate))

    @property
    def grid(self) -> int:
        if self.visual_trunk:
            from .trunk_specs import cut_stride
            return self.image_size // (cut_stride(self.visual_trunk, self.visual_cut) * self.visual_pool)
        stride = 4
        for s in self.visual_strides:
            stride *= s
        # conv1 (s2, p3, k7) and maxpool (s2, p1, k3) behave as exact /2 for even sizes
        size = self.image_size
        size = (size + 2 * 3 - 7) // 2 + 1
        size = (size + 2 * 1 - 3) // 2 + 1
        for s in self.visual_strides:
            size = (size + 2 - 3) // s + 1
        return size

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "AVINConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {}
        for k, v in d.items():
            if k not in names:
                continue
            kw[k] = tuple(v) if isinstance(v, list) else v
        return cls(**kw)


PRESETS: Dict[str, Dict[str, Any]] = {
    # The official AVIN-RN (ResNet-18 visual, PANNs ResNet22 audio at 32 kHz).
    "avin-rn": {},
    # Tiny: the plumbing fixture (112x112 -> 7x7, C=32, 16 kHz, 1 s). A few hundred KB.
    "tiny": dict(
        image_size=112, visual_widths=(8, 8, 16, 32), visual_blocks=(1, 1, 1, 1),
        embed_dim=32, sample_rate=16000, window_seconds=1.0, n_fft=256, hop_length=160,
        n_mels=32, fmin=50.0, fmax=8000.0, audio_widths=(8, 8, 16, 16),
        audio_blocks=(1, 1, 1, 1), audio_embed=16, proj_hidden=32,
    ),
    # Small: trains on 2 CPU cores (160x160 -> 10x10, C=128, 16 kHz, 2 s).
    "small": dict(
        image_size=160, visual_widths=(32, 64, 128, 256), visual_blocks=(1, 1, 1, 1),
        embed_dim=128, sample_rate=16000, window_seconds=2.0, n_fft=512, hop_length=160,
        n_mels=64, fmin=50.0, fmax=8000.0, audio_widths=(32, 64, 128, 256),
        audio_blocks=(1, 1, 1, 1), audio_embed=512, proj_hidden=256,
    ),
}
# The sizes trained on the avloc corpus (avloc_corpus): small enough to train on 2 shared CPU cores
# in about an hour and run the visual graph well under 15 ms per frame. 128 px into a ResNet of
# widths 16-128 (one block per stage, layer4 at stride 1) gives an 8 x 8 map; 16 kHz with a 20 ms
# hop keeps the frozen audio encoder cheap.
PRESETS["corpus-scratch"] = dict(
    PRESETS["small"], image_size=128, visual_widths=(16, 32, 64, 128), visual_blocks=(1, 1, 1, 1), embed_dim=64,
    hop_length=320, audio_widths=(16, 32, 64, 128), audio_blocks=(1, 1, 1, 1), audio_embed=256, proj_hidden=128,
)
# The same audio side with COCO CenterNet (trunks.py; needs npm install) as the visual encoder at
# 224 px: backbone block 9 + the head's stride-8 fusion, a 14 x 14 grid, AVIN's 1x1 projection to
# C = 128; and the same cut with the detector's 80 COCO class logits as more channels.
PRESETS["corpus-pretrained"] = dict(PRESETS["corpus-scratch"], image_size=224, visual_trunk="centernet-mnv3",
                                    visual_cut="bb9+head8", visual_pool=1, embed_dim=128)
PRESETS["corpus-pretrained-cls"] = dict(PRESETS["corpus-pretrained"], visual_cut="bb9+head8+cls")
# Test fixtures of the pretrained shapes: the trunk with AVIN's projections, and the shipped
# default's shape (avin-centernet): class heads over 22 categories + background (+1: the sphere
# channel, model.VisualClassHead).
PRESETS["small-centernet"] = dict(PRESETS["corpus-pretrained"])
PRESETS["centernet-classes"] = dict(PRESETS["corpus-pretrained-cls"], proj_kind="classes", embed_dim=24)
CORPUS_VARIANTS = ("scratch", "pretrained", "pretrained-cls")   # preset "corpus-<variant>"


def make_config(preset: str = "avin-rn", **overrides: Any) -> AVINConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
    kw = dict(PRESETS[preset])
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return AVINConfig(**kw)
