"""Evaluation as AVIN's code computes it (AVIN-RN utils.metric), plus LVS/EZ-VSL's median protocol.

AVIN (default, ``protocol="avin"``):
  heatmap [B, h, w] -> bilinear to 224 x 224 (align_corners=False) -> per-map min-max
  -> binary map at the fixed threshold 0.5 (>=); ground truth = union of boxes.
  cIoU_i = |P & G| / (|G| + |P \\ G|);  cIoU@0.5 = mean(cIoU_i >= 0.5);
  AUC = trapezoid area of (t, mean(cIoU_i >= t)) for t = 0, 0.05, ..., 1 (21 points);
  NSA_i = 1 - |P \\ G| / |not G|, averaged over items where it is defined.
LVS / EZ-VSL (``protocol="median"``): bilinear with align_corners=True, min-max, threshold =
  the sorted value at index int(0.5 * 224 * 224) of each map; same cIoU / AUC definitions.

CLI (one of --checkpoint, --bundle, --official):
  python3 -m avloc_toolkit.evaluate --data DIR --checkpoint runs/x/last.pt --out eval_out
  python3 -m avloc_toolkit.evaluate --data DIR --bundle ../test/fixtures/avin-tiny-random --out eval_out
A checkpoint is evaluated in PyTorch. A bundle is evaluated in onnxruntime-node (onnxruntime for
Python is not installed here): the images/waveforms are written to a temp dir and
``models/scripts/ort_run.mjs`` computes the heatmaps, so the numbers are those of the graphs the
service runs. Writes metrics.json, per_item.json, ciou_curve.png and overlays/*.png.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from .data import AVManifestDataset
from .metrics import metrics_from_heatmaps
from .utils import pick_device

# ---------------------------------------------------------------------------------------------
def heatmaps_from_checkpoint(model, ds: AVManifestDataset, batch_size: int = 16, device: str = "cpu") -> torch.Tensor:
    from .model import heatmap
    model = model.to(device).eval()
    out = []
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=0)
    with torch.no_grad():
        for b in loader:
            f = model.features(b["image"].to(device))
            e = model.embedding(b["waveform"].to(device))
            out.append(heatmap(f, e).cpu())
    return torch.cat(out)


def repo_root() -> str:
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def heatmaps_from_bundle(bundle: str, ds: AVManifestDataset, batch_size: int = 8, node: str = "node") -> torch.Tensor:
    """Runs the bundle in onnxruntime-node via models/scripts/ort_run.mjs."""
    with open(os.path.join(bundle, "model.json")) as f:
        card = json.load(f)
    tmp = tempfile.mkdtemp(prefix="avloc-eval-")
    try:
        imgs, wavs = [], []
        for i in range(len(ds)):
            it = ds[i]
            imgs.append(it["image_u8"].numpy())
            wavs.append(it["waveform"].numpy())
        np.stack(imgs).astype(np.uint8).tofile(os.path.join(tmp, "image.u8"))
        np.stack(wavs).astype("<f4").tofile(os.path.join(tmp, "waveform.f32"))
        script = os.path.join(repo_root(), "models", "scripts", "ort_run.mjs")
        subprocess.run([node, script, os.path.abspath(bundle), tmp, "--batch", str(batch_size)], check=True,
                       cwd=repo_root())
        gh, gw = card["visual"]["grid"]
        heat = np.fromfile(os.path.join(tmp, "heatmap.f32"), dtype="<f4").reshape(len(ds), gh, gw)
        return torch.from_numpy(heat.copy())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def evaluate_dataset(heat: torch.Tensor, ds: AVManifestDataset, protocol: str = "avin",
                     boxed_only: bool = True) -> Dict[str, Any]:
    gts, keep = [], []
    for i in range(len(ds)):
        it = ds.items[i]
        if boxed_only and not it.get("boxes"):
            continue
        keep.append(i)
        gts.append(ds[i]["gt"])
    if not keep:
        raise ValueError("no item with boxes to evaluate")
    res = metrics_from_heatmaps(heat[keep], torch.stack(gts), protocol)
    res["ids"] = [ds.items[i]["id"] for i in keep]
    res["indices"] = keep
    return res


def main(argv=None) -> None:
    torch.set_num_threads(2)
    p = argparse.ArgumentParser(description="Evaluate an AVIN checkpoint or bundle on a manifest folder")
    p.add_argument("--data", required=True, help="folder with manifest.jsonl")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--checkpoint", help="toolkit checkpoint (.pt), evaluated in PyTorch")
    g.add_argument("--bundle", help="bundle folder, evaluated in onnxruntime-node")
    p.add_argument("--out", required=True, help="folder for metrics.json, per_item.json, PNGs")
    p.add_argument("--protocol", default="avin", choices=["avin", "median", "both"])
    p.add_argument("--eval-window", default="center", choices=["center", "last"])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="auto", help="for --checkpoint: auto (CUDA if present), cpu or cuda")
    p.add_argument("--overlays", type=int, default=8, help="how many overlay PNGs to draw")
    p.add_argument("--split", default=None, help="name recorded in metrics.json (default: folder name)")
    a = p.parse_args(argv)

    from .config import AVINConfig
    if a.checkpoint:
        from .export import load_checkpoint
        model, _ = load_checkpoint(a.checkpoint)
        cfg = model.cfg
        ds = AVManifestDataset(a.data, cfg, "eval", a.eval_window)
        heat = heatmaps_from_checkpoint(model, ds, a.batch_size, pick_device(a.device))
        source = {"checkpoint": os.path.abspath(a.checkpoint)}
    else:
        with open(os.path.join(a.bundle, "model.json")) as f:
            card = json.load(f)
        arch = (card.get("architecture") or {}).get("config") or {}
        cfg = AVINConfig.from_dict(arch)
        cfg.image_size = card["visual"]["height"]
        cfg.sample_rate = card["audio"]["sampleRate"]
        cfg.window_seconds = card["audio"]["windowSeconds"]
        ds = AVManifestDataset(a.data, cfg, "eval", a.eval_window)
        heat = heatmaps_from_bundle(a.bundle, ds, a.batch_size)
        source = {"bundle": os.path.abspath(a.bundle), "name": card.get("name")}

    protocols = ["avin", "median"] if a.protocol == "both" else [a.protocol]
    os.makedirs(a.out, exist_ok=True)
    results = {pr: evaluate_dataset(heat, ds, pr) for pr in protocols}
    main_res = results[protocols[0]]
    split = a.split or os.path.basename(os.path.abspath(a.data))
    summary = {"split": split, "n": main_res["n"], "protocol": protocols[0],
               "ciou@0.5": main_res["ciou@0.5"], "auc": main_res["auc"], "nsa": main_res["nsa"],
               **source, "protocols": {pr: {k: r[k] for k in ("ciou@0.5", "auc", "nsa", "mean_ciou", "curve")}
                                       for pr, r in results.items()}}
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(a.out, "per_item.json"), "w") as f:
        json.dump({pr: {"ids": r["ids"], **r["per_item"]} for pr, r in results.items()}, f, indent=2)

    print(f"{'protocol':<10}{'n':>6}{'cIoU@0.5':>11}{'AUC':>9}{'NSA':>9}{'mean cIoU':>11}")
    for pr, r in results.items():
        print(f"{pr:<10}{r['n']:>6}{r['ciou@0.5']:>11.4f}{r['auc']:>9.4f}{r['nsa']:>9.4f}{r['mean_ciou']:>11.4f}")

    from .draw import draw_curve, draw_overlays
    draw_curve({pr: r["curve"] for pr, r in results.items()}, os.path.join(a.out, "ciou_curve.png"))
    draw_overlays(ds, heat, main_res, os.path.join(a.out, "overlays"), a.overlays)
    print(f"wrote {a.out}/metrics.json, per_item.json, ciou_curve.png, overlays/")


if __name__ == "__main__":
    main()
