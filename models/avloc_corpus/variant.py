"""The model size trained on the corpus: small enough to train on 2 shared CPU cores in about an
hour and to run the visual graph well under 15 ms per frame, with an 8 x 8 grid.

Why these numbers: 128 px input with a ResNet of widths 16-128 (one block per stage, layer4 at
stride 1) gives an 8 x 8 map; 16 kHz with a 20 ms hop keeps the frozen audio encoder cheap.
"""
from avloc_toolkit.config import AVINConfig, make_config

VARIANT = dict(
    image_size=128, visual_widths=(16, 32, 64, 128), visual_blocks=(1, 1, 1, 1), embed_dim=64,
    sample_rate=16000, window_seconds=2.0, n_fft=512, hop_length=320, n_mels=64, fmin=50.0, fmax=8000.0,
    audio_widths=(16, 32, 64, 128), audio_blocks=(1, 1, 1, 1), audio_embed=256, proj_hidden=128,
)


# The pretrained variant: COCO CenterNet's backbone block 9 and head at stride 8 (avloc_toolkit/trunks.py)
# at 224 px, a 14 x 14 grid, with AVIN's 1x1 projection to C = 128; the same audio encoder.
PRETRAINED = dict(
    VARIANT, image_size=224, visual_trunk="centernet-mnv3", visual_cut="bb9+head8", visual_pool=1, embed_dim=128,
)

# The same with the detector's COCO class logits as 80 more channels of the cut.
PRETRAINED_CLS = dict(PRETRAINED, visual_cut="bb9+head8+cls")

VARIANTS = {"scratch": VARIANT, "pretrained": PRETRAINED, "pretrained-cls": PRETRAINED_CLS}


def corpus_config(variant: str = "scratch") -> AVINConfig:
    return make_config("small", **VARIANTS[variant])
