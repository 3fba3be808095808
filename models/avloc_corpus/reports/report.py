"""Test-split report: AVIN, the EZ-VSL baseline and the two references on the same scenes.

  python3 -m avloc_corpus.reports.report --avin .cache/runs/avin/best.pt --ezvsl .cache/runs/ezvsl/best.pt \
      --out .cache/report [--bundle ../models/avin-synth]

Checkpoints are evaluated in PyTorch with the toolkit's AVIN-protocol metrics on the centred
audio window (the toolkit's eval default); a bundle, when given, is evaluated through the
toolkit's onnxruntime-node path so its numbers are those of the shipped graphs. Also breaks the
scores down by seen / held-out categories and by object count, and draws overlays.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw

from avloc_toolkit.metrics import metrics_from_heatmaps, normalize_maps, upsample
from avloc_toolkit.model import AVIN, centred_features, heatmap

from ..paths import corpus_dir
from ..scenes.scene_cache import embed, gt_maps, load_split
from ..training.checkpoints import load_ckpt
from .references import centre_metrics, whole_image_metrics

KEYS = ("n", "ciou@0.5", "auc", "nsa", "mean_ciou")


def heatmaps(model: AVIN, images: torch.Tensor, waves: torch.Tensor) -> torch.Tensor:
    """The model's maps as its bundle makes them (its feature centering)."""
    fv, fa = embed(model, images, waves)
    return heatmap(centred_features(fv, model.cfg.feature_centering), fa)


def breakdown(ciou: np.ndarray, items) -> dict:
    groups = {"seen categories": [not it.get("unseen") for it in items],
              "held-out categories": [bool(it.get("unseen")) for it in items]}
    for k in (1, 2, 3):
        groups[f"{k} object(s)"] = [len(it["objects"]) == k for it in items]
    out = {}
    for name, mask in groups.items():
        m = np.array(mask)
        if m.any():
            out[name] = {"n": int(m.sum()), "ciou@0.5": float((ciou[m] >= 0.5).mean()),
                         "mean_ciou": float(ciou[m].mean())}
    return out


def peak_places(heats: torch.Tensor, items, side: int) -> dict:
    """Where each map's peak cell (its centre) falls, by object count: on the sounding object, on
    another object, or on the background — which tells a wrong choice of object from a miss."""
    out: dict = {}
    gh, gw = heats.shape[-2], heats.shape[-1]
    for hm, it in zip(heats, items):
        gy, gx = divmod(int(hm.reshape(-1).argmax()), gw)
        u, v = (gx + 0.5) / gw * side, (gy + 0.5) / gh * side
        inside = [j for j, o in enumerate(it["objects"]) if o["box"][0] <= u <= o["box"][2] and o["box"][1] <= v <= o["box"][3]]
        place = "sounding" if it["sounding_index"] in inside else ("other object" if inside else "background")
        row = out.setdefault(f"{len(it['objects'])} object(s)", {"n": 0, "sounding": 0, "other object": 0, "background": 0})
        row["n"] += 1
        row[place] += 1
    return {k: {"n": r["n"], **{p: r[p] / r["n"] for p in ("sounding", "other object", "background")}}
            for k, r in sorted(out.items())}


def overlay(img_u8: np.ndarray, heat: torch.Tensor, item, label: str) -> Image.Image:
    S = img_u8.shape[0]
    h = np.nan_to_num(normalize_maps(upsample(heat[None], S))[0].numpy())   # a flat map has no max
    base = Image.fromarray(img_u8).convert("RGB")
    red = np.zeros_like(img_u8)
    red[..., 0] = (h * 255).astype(np.uint8)
    red[..., 1] = ((1 - np.abs(h - 0.5) * 2) * 160).astype(np.uint8)
    im = Image.blend(base, Image.fromarray(red), 0.45)
    d = ImageDraw.Draw(im)
    contour = (h >= 0.5)
    ys, xs = np.nonzero(contour & ~np.roll(contour, 1, 0) | contour & ~np.roll(contour, 1, 1))
    for y, x in zip(ys, xs):
        d.point((int(x), int(y)), fill=(255, 255, 255))
    for j, o in enumerate(item["objects"]):
        col = (0, 255, 0) if j == item["sounding_index"] else (80, 160, 255)
        d.rectangle(o["box"], outline=col, width=2 if j == item["sounding_index"] else 1)
    d.text((3, 2), label, fill=(255, 255, 0))
    return im


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=corpus_dir())
    p.add_argument("--split", default="test")
    p.add_argument("--avin", required=True)
    p.add_argument("--ezvsl", help="the EZ-VSL baseline's checkpoint (left out of the report if not given)")
    p.add_argument("--bundle", help="the exported AVIN bundle, evaluated in onnxruntime-node")
    p.add_argument("--out", required=True)
    p.add_argument("--overlays", type=int, default=24)
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    runs = {"avin": a.avin, **({"ezvsl": a.ezvsl} if a.ezvsl else {})}
    loaded = {k: load_ckpt(v) for k, v in runs.items()}
    cfg = loaded["avin"][0].cfg            # grid and rate of the model
    te = load_split(os.path.join(a.data, a.split), cfg.sample_rate)
    items = te["items"]
    gt = gt_maps(items, te["images"].shape[2], te["images"].shape[1])
    results, heats = {}, {}
    for name, path in runs.items():
        model, ck = loaded[name]
        heats[name] = heatmaps(model, te["images"], te["waves"])
        r = metrics_from_heatmaps(heats[name], gt, "avin")
        results[name] = {**{k: r[k] for k in KEYS}, "checkpoint": os.path.abspath(path), "epoch": ck["epoch"],
                         "centering": model.cfg.feature_centering,
                         "breakdown": breakdown(np.array(r["per_item"]["ciou"]), items),
                         "peak": peak_places(heats[name], items, te["images"].shape[1])}
        if model.cfg.feature_centering:   # the same checkpoint as the official avmap, for comparison
            model.cfg.feature_centering = 0.0
            r0 = metrics_from_heatmaps(heatmaps(model, te["images"], te["waves"]), gt, "avin")
            results[f"{name}, official avmap (centering 0)"] = {**{k: r0[k] for k in KEYS},
                                                                "breakdown": breakdown(np.array(r0["per_item"]["ciou"]), items)}
    r = centre_metrics(gt, cfg.grid, cfg.grid)
    results["centre prior"] = {**{k: r[k] for k in KEYS}, "breakdown": breakdown(np.array(r["per_item"]["ciou"]), items)}
    r = whole_image_metrics(gt)
    results["whole image"] = {**{k: r[k] for k in KEYS}, "breakdown": breakdown(np.array(r["per_item"]["ciou"]), items)}
    if a.bundle:
        ev = os.path.join(a.out, "bundle-eval")
        subprocess.run([sys.executable, "-m", "avloc_toolkit.evaluate", "--data", os.path.join(a.data, a.split),
                        "--bundle", a.bundle, "--out", ev, "--overlays", "0"], check=True,
                       cwd=os.path.join(os.path.dirname(__file__), "..", ".."))
        with open(os.path.join(ev, "metrics.json")) as f:
            m = json.load(f)
        results["avin (bundle, onnxruntime-node)"] = {k: m.get(k) for k in KEYS}
        if m.get("protocols", {}).get("avin", {}).get("mean_ciou") is not None:
            results["avin (bundle, onnxruntime-node)"]["mean_ciou"] = m["protocols"]["avin"]["mean_ciou"]
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump({"split": a.split, "data": os.path.abspath(a.data), "protocol": "avin", "results": results}, f, indent=1)
    print(f"{'method':<34}{'n':>5}{'cIoU@0.5':>10}{'AUC':>8}{'NSA':>8}{'mean cIoU':>11}")
    for name, r in results.items():
        print(f"{name:<34}{r['n']:>5}{r['ciou@0.5']:>10.4f}{r['auc']:>8.4f}{r['nsa']:>8.4f}{r['mean_ciou']:>11.4f}")
    for name in runs:
        for g, b in results[name]["breakdown"].items():
            print(f"  {name:<6} {g:<22} n={b['n']:<4} cIoU@0.5 {b['ciou@0.5']:.3f}  mean cIoU {b['mean_ciou']:.3f}")
        for g, b in results[name]["peak"].items():
            print(f"  {name:<6} peak, {g:<16} n={b['n']:<4} " + "  ".join(f"{p} {b[p]:.0%}" for p in ("sounding", "other object", "background")))
    # overlays: AVIN | EZ-VSL side by side, a spread of test scenes (every k-th one)
    od = os.path.join(a.out, "overlays")
    os.makedirs(od, exist_ok=True)
    step = max(1, len(items) // max(a.overlays, 1))
    for i in list(range(0, len(items), step))[:a.overlays]:
        img = te["images"][i].numpy()
        it = items[i]
        left = overlay(img, heats["avin"][i], it, f"AVIN {it['sounding_category']}")
        sheet = Image.new("RGB", (left.width * len(runs) + 4 * (len(runs) - 1), left.height), "white")
        sheet.paste(left, (0, 0))
        if "ezvsl" in runs:
            sheet.paste(overlay(img, heats["ezvsl"][i], it, "EZ-VSL"), (left.width + 4, 0))
        sheet.save(os.path.join(od, f"{it['id']}.png"))
    print(f"wrote {a.out}/metrics.json and {od}/")


if __name__ == "__main__":
    main()
