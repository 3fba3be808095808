"""Export an AVIN model to a bundle (docs/MODEL_CONTRACT.md): visual.onnx, audio.onnx, model.json.

  visual.onnx  image uint8 [B, H, W, 3] -> features float32 [B, C, h, w] (L2-normalised on C)
               cast, /255, ImageNet mean/std and NHWC->NCHW happen inside the graph
  audio.onnx   waveform float32 [B, T] -> embedding float32 [B, C] (L2-normalised)
               STFT-as-conv with reflect padding, Slaney log-mel, bn0 inside the graph
Batch is dynamic; opset 17.

CLI:
  python3 -m avloc_toolkit.export --checkpoint runs/x/last.pt --out ../models/avin-synth [--name ...]
  python3 -m avloc_toolkit.export --preset tiny --seed 0 --random --out /tmp/b
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import warnings
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

from .config import AVINConfig, make_config, PRESETS
from .imagenet import IMAGENET_MEAN, IMAGENET_STD
from .model import AVIN

OPSET = 17


class VisualGraph(nn.Module):
    def __init__(self, model: AVIN):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).to(torch.float32)
        x = (x - self.mean) / self.std
        return self.model.features(x)


def preprocess_image_uint8(image: torch.Tensor) -> torch.Tensor:
    """Same arithmetic as VisualGraph, for PyTorch-side use: uint8 NHWC -> normalised NCHW."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0
    return (image.permute(0, 3, 1, 2).to(torch.float32) - mean) / std


class AudioGraph(nn.Module):
    def __init__(self, model: AVIN):
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.model.embedding(waveform)


def git_commit(cwd: Optional[str] = None) -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=cwd or os.path.dirname(__file__),
                                       stderr=subprocess.DEVNULL).decode().strip()
    except Exception:
        return "unknown"


def make_card(cfg: AVINConfig, name: str, *, version: str = "1.0.0", training: Optional[Dict[str, Any]] = None,
              metrics: Optional[Dict[str, Any]] = None, license: str = "MIT", extra: Optional[Dict[str, Any]] = None
              ) -> Dict[str, Any]:
    card: Dict[str, Any] = {
        "format": "avloc-model/1",
        "name": name,
        "version": version,
        "method": "avin",
        "visual": {"file": "visual.onnx", "input": "image", "output": "features",
                   "height": cfg.image_size, "width": cfg.image_size, "channels": cfg.embed_dim,
                   "grid": [cfg.grid, cfg.grid]},
        "audio": {"file": "audio.onnx", "input": "waveform", "output": "embedding",
                  "sampleRate": cfg.sample_rate, "windowSeconds": cfg.window_seconds,
                  "samples": cfg.window_samples, "channels": cfg.embed_dim},
        "opset": OPSET,
        "training": {"data": "none", "epochs": 0, "seed": 0, "commit": git_commit()},
        "metrics": {"split": "none", "ciou@0.5": 0.0, "auc": 0.0},
        "license": license,
        "architecture": {"family": f"AVIN, visual trunk {cfg.visual_trunk}" if cfg.visual_trunk else "AVIN-RN",
                         "config": cfg.to_dict()},
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if training:
        card["training"].update(training)
    if metrics:
        card["metrics"].update(metrics)
    if extra:
        card.update(extra)
    return card


def export_bundle(model: AVIN, out_dir: str, card: Dict[str, Any]) -> Dict[str, str]:
    """Writes visual.onnx, audio.onnx and model.json into out_dir. Returns their paths."""
    cfg = model.cfg
    os.makedirs(out_dir, exist_ok=True)
    model = model.eval()
    vis, aud = VisualGraph(model).eval(), AudioGraph(model).eval()
    img = torch.zeros(2, cfg.image_size, cfg.image_size, 3, dtype=torch.uint8)
    wav = torch.zeros(2, cfg.window_samples, dtype=torch.float32)
    paths = {k: os.path.join(out_dir, f) for k, f in
             (("visual", "visual.onnx"), ("audio", "audio.onnx"), ("card", "model.json"))}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch 1.13's exporter is chatty about constant folding
        torch.onnx.export(vis, (img,), paths["visual"], input_names=["image"], output_names=["features"],
                          dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True)
        torch.onnx.export(aud, (wav,), paths["audio"], input_names=["waveform"], output_names=["embedding"],
                          dynamic_axes={"waveform": {0: "batch"}, "embedding": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True)
    _set_output_shape(paths["visual"], ["batch", cfg.embed_dim, cfg.grid, cfg.grid])
    _set_output_shape(paths["audio"], ["batch", cfg.embed_dim])
    check_graphs(out_dir, card)
    with open(paths["card"], "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return paths


def _set_output_shape(path: str, shape) -> None:
    """torch's exporter leaves the normalised outputs' dims symbolic; state them (batch stays dynamic)."""
    import onnx
    m = onnx.load(path)
    out = m.graph.output[0].type.tensor_type.shape
    while len(out.dim):
        out.dim.pop()
    for d in shape:
        nd = out.dim.add()
        if isinstance(d, str):
            nd.dim_param = d
        else:
            nd.dim_value = int(d)
    onnx.save(m, path)


def check_graphs(out_dir: str, card: Dict[str, Any]) -> None:
    """onnx.checker + the contract's names/dtypes/shapes against the card."""
    import onnx
    from onnx import TensorProto

    def dims(vi):
        return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]

    v = onnx.load(os.path.join(out_dir, "visual.onnx"))
    a = onnx.load(os.path.join(out_dir, "audio.onnx"))
    onnx.checker.check_model(v)
    onnx.checker.check_model(a)
    vc, ac = card["visual"], card["audio"]
    assert [i.name for i in v.graph.input] == ["image"], "visual.onnx: input name"
    assert [o.name for o in v.graph.output] == ["features"], "visual.onnx: output name"
    assert v.graph.input[0].type.tensor_type.elem_type == TensorProto.UINT8, "visual.onnx: input dtype"
    assert dims(v.graph.input[0])[1:] == [vc["height"], vc["width"], 3], "visual.onnx: input shape"
    assert dims(v.graph.output[0])[1:] == [vc["channels"], *vc["grid"]], f"visual.onnx: output shape {dims(v.graph.output[0])}"
    assert [i.name for i in a.graph.input] == ["waveform"], "audio.onnx: input name"
    assert [o.name for o in a.graph.output] == ["embedding"], "audio.onnx: output name"
    assert a.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT, "audio.onnx: input dtype"
    assert dims(a.graph.input[0])[1:] == [int(round(ac["sampleRate"] * ac["windowSeconds"]))], "audio.onnx: input shape"
    assert dims(a.graph.output[0])[1:] == [ac["channels"]], "audio.onnx: output shape"


def load_checkpoint(path: str, map_location: str = "cpu"):
    """Loads a toolkit checkpoint (train.py) -> (model, checkpoint dict)."""
    ck = torch.load(path, map_location=map_location)
    cfg = AVINConfig.from_dict(ck["config"])
    model = AVIN(cfg)
    model.load_state_dict(ck["model"])
    return model.eval(), ck


def main(argv=None) -> None:
    torch.set_num_threads(2)
    p = argparse.ArgumentParser(description="Export an AVIN checkpoint (or a random-weight model) to a bundle")
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--checkpoint", help="toolkit checkpoint (.pt from avloc_toolkit.train)")
    p.add_argument("--preset", default="avin-rn", choices=sorted(PRESETS), help="with --random")
    p.add_argument("--random", action="store_true", help="export random weights (seeded)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None)
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--license", default="MIT")
    p.add_argument("--metrics", help="JSON file from avloc_toolkit.evaluate to copy into the card")
    a = p.parse_args(argv)
    if bool(a.checkpoint) == bool(a.random):
        p.error("give exactly one of --checkpoint or --random")
    if a.random:
        cfg = make_config(a.preset)
        torch.manual_seed(a.seed)
        model = AVIN(cfg).eval()
        card = make_card(cfg, a.name or f"avin-{a.preset}-random", version=a.version, license=a.license,
                         training={"data": "none (random weights)", "epochs": 0, "seed": a.seed},
                         metrics={"split": "none", "random": True},
                         extra={"random": True,
                                "description": "random weights (seeded); for plumbing tests only, "
                                               "its heatmaps mean nothing"})
    else:
        model, ck = load_checkpoint(a.checkpoint)
        cfg = model.cfg
        card = make_card(cfg, a.name or "avin-trained", version=a.version, license=a.license,
                         training={"data": ck.get("data", "unknown"), "epochs": ck.get("epoch", 0),
                                   "seed": ck.get("seed", 0), "commit": ck.get("commit", git_commit())})
    if a.metrics:
        with open(a.metrics) as f:
            m = json.load(f)
        card["metrics"].update({k: m[k] for k in ("split", "ciou@0.5", "auc", "nsa", "n") if k in m})
    paths = export_bundle(model, a.out, card)
    for k, v in paths.items():
        print(f"{k}: {v} ({os.path.getsize(v)} bytes)")


if __name__ == "__main__":
    main()
