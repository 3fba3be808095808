"""Writes a bundle plus reference inputs/outputs for the onnxruntime-node parity test.

  python3 -m avloc_toolkit.parity --out DIR [--preset tiny] [--seed 0] [--n 3]

DIR/bundle/            the exported bundle (random weights with BN statistics perturbed, so the
                       folded BatchNorm arithmetic is exercised too)
DIR/image.u8           uint8 [N, H, W, 3]
DIR/waveform.f32       float32 [N, T]  (a chirp + noise, in [-1, 1])
DIR/ref_features.f32   float32 [N, C, h, w]   PyTorch outputs of the same model
DIR/ref_embedding.f32  float32 [N, C]
DIR/ref_heatmap.f32    float32 [N, h, w]
DIR/ref.json           shapes and file names
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from .config import PRESETS, make_config
from .export import VisualGraph, AudioGraph, export_bundle, make_card, preprocess_image_uint8
from .model import AVIN, heatmap


def perturb_batchnorm(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
            m.running_var.copy_(1.0 + 0.2 * torch.rand(n, generator=g))
            m.weight.data.copy_(1.0 + 0.1 * torch.randn(n, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=g))


def make_inputs(cfg, n: int, seed: int):
    rng = np.random.default_rng(seed)
    H = cfg.image_size
    yy, xx = np.mgrid[0:H, 0:H]
    imgs = []
    for i in range(n):
        base = rng.integers(0, 256, size=(H, H, 3)).astype(np.float64) * 0.4
        blob = np.exp(-(((yy - H * (0.3 + 0.2 * i)) ** 2 + (xx - H * 0.6) ** 2) / (2 * (H / 8) ** 2)))
        base += 150 * blob[..., None]
        imgs.append(np.clip(base, 0, 255).astype(np.uint8))
    T = cfg.window_samples
    t = np.arange(T) / cfg.sample_rate
    wavs = []
    for i in range(n):
        f0 = 200.0 * (i + 1)
        w = 0.5 * np.sin(2 * np.pi * (f0 + 300 * t) * t) + 0.05 * rng.standard_normal(T)
        wavs.append(np.clip(w, -1, 1).astype(np.float32))
    return np.stack(imgs), np.stack(wavs)


def write_parity_case(out: str, preset: str = "tiny", seed: int = 0, n: int = 3, centering: float = 0.0) -> dict:
    torch.set_num_threads(2)
    os.makedirs(out, exist_ok=True)
    cfg = make_config(preset, feature_centering=centering)
    torch.manual_seed(seed)
    model = AVIN(cfg)
    perturb_batchnorm(model, seed)
    model.eval()
    img, wav = make_inputs(cfg, n, seed)
    if cfg.proj_kind == "classes":
        # as training sets it (train_heads): the logits' scale above the largest cell's norm, so no
        # cell sits where sqrt(1 - |u|^2) is ill-conditioned
        with torch.no_grad():
            z = model.v_proj.logits(model.v_encoder(preprocess_image_uint8(torch.from_numpy(img))))
        model.v_proj.scale.fill_(float(z.norm(dim=1).max()) * 1.05)
    card = make_card(cfg, f"parity-{preset}", training={"data": "none (random weights)", "seed": seed},
                     extra={"random": True})
    export_bundle(model, os.path.join(out, "bundle"), card)
    with torch.no_grad():
        feats = VisualGraph(model)(torch.from_numpy(img)).numpy()
        emb = AudioGraph(model)(torch.from_numpy(wav)).numpy()
        heat = heatmap(torch.from_numpy(feats), torch.from_numpy(emb)).numpy()
    img.tofile(os.path.join(out, "image.u8"))
    wav.astype("<f4").tofile(os.path.join(out, "waveform.f32"))
    feats.astype("<f4").tofile(os.path.join(out, "ref_features.f32"))
    emb.astype("<f4").tofile(os.path.join(out, "ref_embedding.f32"))
    heat.astype("<f4").tofile(os.path.join(out, "ref_heatmap.f32"))
    meta = {"n": n, "preset": preset, "seed": seed, "centering": centering, "image": [n, cfg.image_size, cfg.image_size, 3],
            "waveform": [n, cfg.window_samples], "features": list(feats.shape),
            "embedding": list(emb.shape), "heatmap": list(heat.shape), "bundle": "bundle"}
    with open(os.path.join(out, "ref.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return meta


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=3)
    p.add_argument("--centering", type=float, default=0.0, help="AVINConfig.feature_centering of the exported graph")
    a = p.parse_args(argv)
    print(json.dumps(write_parity_case(a.out, a.preset, a.seed, a.n, a.centering)))


if __name__ == "__main__":
    main()
