"""Official AVIN-RN checkpoint -> toolkit model -> bundle.

The official ``main.py`` wraps each *trainable* submodule of ``AVIN`` separately in
DistributedDataParallel (after SyncBatchNorm conversion, which keeps BatchNorm key names), leaves the
frozen PANNs audio encoder and the parameter-free ``gap`` unwrapped, and saves
``model.state_dict()``. Hence the key layout:

  v_encoder.module.<ResNet-18 keys: conv1, bn1, layer1..4 (with downsample.0/1), no fc>
  v_proj.module.weight                                  [512, 512, 1, 1]
  a_proj.module.fc1.weight, a_proj.module.fc2.weight    [512, 2048], [512, 512]
  a_encoder.<PANNs ResNet22 keys>: spectrogram_extractor.stft.conv_real/conv_imag.weight,
      logmel_extractor.melW, bn0.*, conv_block1.*, resnet.layerN.M.*, conv_block_after1.*, fc1.*

(271 tensors for the full model.) A state_dict saved without DDP (no ``module.``), or from a whole
model wrapped in DDP (leading ``module.``), is accepted too.

CLI:
  python3 -m avloc_toolkit.convert CKPT.pth --out ../models/avin-official [--window-seconds 3]
      [--name avin-rn-flickr] [--license ...] [--sample-rate 32000 --fmin 50 --fmax 14000 --hop 320]
"""
from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any, Dict, Optional

import numpy as np
import torch

from .config import AVINConfig
from .export import export_bundle, make_card
from .mel import slaney_mel_filterbank, stft_kernels
from .model import AVIN

DDP_WRAPPED = ("v_encoder", "v_proj", "a_proj")


def official_to_toolkit_state(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Strips DDP ``module.`` prefixes (per-submodule or whole-model)."""
    if "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    out = {}
    for k, v in sd.items():
        if k.startswith("module."):
            k = k[len("module."):]
        head, _, rest = k.partition(".")
        if rest.startswith("module."):
            k = head + "." + rest[len("module."):]
        out[k] = v
    return out


def toolkit_to_official_state(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Inverse of official_to_toolkit_state: the layout official main.py saves."""
    out = {}
    for k, v in sd.items():
        head, _, rest = k.partition(".")
        out[f"{head}.module.{rest}" if head in DDP_WRAPPED else k] = v
    return out


def _layer_shape(sd, prefix: str, n_layers: int = 4):
    widths, blocks = [], []
    for i in range(1, n_layers + 1):
        idx = {int(m.group(1)) for k in sd for m in [re.match(rf"{re.escape(prefix)}layer{i}\.(\d+)\.", k)] if m}
        if not idx:
            raise KeyError(f"checkpoint has no {prefix}layer{i}.*")
        blocks.append(max(idx) + 1)
        widths.append(int(sd[f"{prefix}layer{i}.0.conv1.weight"].shape[0]))
    return tuple(widths), tuple(blocks)


def infer_config(sd: Dict[str, torch.Tensor], base: Optional[AVINConfig] = None) -> AVINConfig:
    """Sizes from tensor shapes; rates/frequencies/image size from ``base`` (default: AVIN-RN)."""
    cfg = AVINConfig(**{k: getattr(base, k) for k in AVINConfig.__dataclass_fields__}) if base else AVINConfig()
    cfg.visual_widths, cfg.visual_blocks = _layer_shape(sd, "v_encoder.")
    cfg.audio_widths, cfg.audio_blocks = _layer_shape(sd, "a_encoder.resnet.")
    cfg.embed_dim = int(sd["v_proj.weight"].shape[0])
    cfg.proj_hidden = int(sd["a_proj.fc1.weight"].shape[0])
    cfg.audio_embed = int(sd["a_encoder.fc1.weight"].shape[0])
    cfg.n_mels = int(sd["a_encoder.bn0.weight"].shape[0])
    cfg.n_fft = int(sd["a_encoder.spectrogram_extractor.stft.conv_real.weight"].shape[-1])
    return cfg


def frontend_check(sd: Dict[str, torch.Tensor], cfg: AVINConfig) -> Dict[str, float]:
    """Max abs differences between the checkpoint's STFT kernels / melW and ours for cfg."""
    real, imag = stft_kernels(cfg.n_fft)
    mel = slaney_mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).T
    g = lambda k: sd[f"a_encoder.{k}"].detach().float().numpy()
    return {"conv_real": float(np.abs(g("spectrogram_extractor.stft.conv_real.weight") - real).max()),
            "conv_imag": float(np.abs(g("spectrogram_extractor.stft.conv_imag.weight") - imag).max()),
            "melW": float(np.abs(g("logmel_extractor.melW") - mel).max())}


def load_official(path_or_sd, base: Optional[AVINConfig] = None):
    """-> (AVIN in eval mode, config, front-end check). Loads strictly: every tensor must map."""
    sd = torch.load(path_or_sd, map_location="cpu") if isinstance(path_or_sd, str) else path_or_sd
    sd = official_to_toolkit_state(sd)
    cfg = infer_config(sd, base)
    model = AVIN(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise KeyError(f"checkpoint does not match AVIN-RN: missing {missing[:8]}{'...' if len(missing) > 8 else ''}, "
                       f"unexpected {unexpected[:8]}{'...' if len(unexpected) > 8 else ''}")
    return model.eval(), cfg, frontend_check(sd, cfg)


def convert(ckpt: str, out_dir: str, *, name: str = "avin-rn-official", base: Optional[AVINConfig] = None,
            license: str = "see the checkpoint's source", version: str = "1.0.0",
            metrics: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    model, cfg, fc = load_official(ckpt, base)
    if max(fc.values()) > 1e-4:
        print(f"warning: the checkpoint's front end differs from Slaney log-mel at sr={cfg.sample_rate} "
              f"fmin={cfg.fmin} fmax={cfg.fmax}: {fc} (the checkpoint's own tensors are used)")
    card = make_card(cfg, name, version=version, license=license,
                     training={"data": f"official AVIN-RN checkpoint {os.path.basename(ckpt)}",
                               "epochs": None, "seed": None, "source": "github.com/Tahy1/AVIN"},
                     metrics=metrics, extra={"converted_from": os.path.abspath(ckpt), "frontend_check": fc})
    export_bundle(model, out_dir, card)
    return card


def main(argv=None) -> None:
    torch.set_num_threads(2)
    p = argparse.ArgumentParser(description="Convert an official AVIN-RN checkpoint to a bundle")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--name", default="avin-rn-official")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--license", default="see the checkpoint's source")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--sample-rate", type=int, default=32000)
    p.add_argument("--window-seconds", type=float, default=3.0)
    p.add_argument("--hop", type=int, default=320)
    p.add_argument("--fmin", type=float, default=50.0)
    p.add_argument("--fmax", type=float, default=14000.0)
    p.add_argument("--metrics", help="JSON with split / ciou@0.5 / auc to put in the card")
    a = p.parse_args(argv)
    base = AVINConfig(image_size=a.image_size, sample_rate=a.sample_rate, window_seconds=a.window_seconds,
                      hop_length=a.hop, fmin=a.fmin, fmax=a.fmax)
    metrics = json.load(open(a.metrics)) if a.metrics else None
    card = convert(a.checkpoint, a.out, name=a.name, base=base, license=a.license, version=a.version,
                   metrics=metrics)
    print(json.dumps({"out": a.out, "visual": card["visual"], "audio": card["audio"],
                      "frontend_check": card["frontend_check"]}, indent=2))


if __name__ == "__main__":
    main()
