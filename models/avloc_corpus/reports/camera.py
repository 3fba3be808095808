"""The scene a camera gives: whole photographs, nothing pasted, with a test-split sound.

  python3 -m avloc_corpus.reports.camera CKPT [--out DIR]

Debian's python3-skimage ships a few real photographs (BSD-licensed sample data). Three show a
thing that can sound, and its box was drawn by hand for this probe (pixels of the original
photo); the fourth shows nothing that sounds. Each photo is paired with every test-split
recording of its category (positives: is the peak inside the box, is the peak cosine high?) and
with test recordings of other categories, silence and noise (negatives: the peak cosine should be lower).
Only three photographs: a probe of behaviour on camera-like frames, not a statistic.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch
from PIL import Image

from ..scenes.build import load_split_assets
from ..sources import packages
from .controls import embeddings, visual

PKG = "python3-skimage"
DATA = "usr/lib/python3/dist-packages/skimage/data/"
# file -> (category, [x0, y0, x1, y1] in the photo's pixels, drawn by hand; None: nothing sounds)
PHOTOS = {
    "astronaut.png": ("person", [20, 10, 365, 512]),     # the astronaut; a rocket model and a flag beside her
    "camera.png": ("person", [0, 62, 335, 512]),         # the cameraman (grayscale), a tripod and buildings
    "chelsea.png": ("cat", [0, 0, 451, 300]),            # the cat fills the frame
    "coffee.png": (None, None),                          # a cup of coffee: nothing that sounds
}


def load_photo(name: str, size: int) -> tuple:
    path = packages.path(DATA + name)
    im = Image.open(path).convert("RGB")
    W, H = im.size
    return np.array(im.resize((size, size), Image.BILINEAR)), (W, H)


def main(argv=None) -> None:
    from ..training.checkpoints import load_ckpt
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--out")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    packages.ensure_debs([PKG])
    model, _ = load_ckpt(a.checkpoint)
    cfg = model.cfg
    pools, _ = load_split_assets(0, cfg.sample_rate)
    test = pools["test"]
    T = cfg.window_samples
    rows = []
    for name, (cat, box) in PHOTOS.items():
        img, (W, H) = load_photo(name, max(160, cfg.image_size))
        feats, _ = visual(model, torch.from_numpy(img)[None])
        waves, labels = [], []
        for c, v in sorted(test.items()):
            for spec, w in v["sounds"]:
                w = np.pad(w, (max(0, T - len(w)), 0))[:T]
                waves.append(w), labels.append(c)
        waves += [np.zeros(T, np.float32), (np.random.default_rng(0).standard_normal(T) * 0.01).astype(np.float32)]
        labels += ["(silence)", "(noise)"]
        emb = embeddings(model, torch.from_numpy(np.stack(waves)).float())
        heats = (feats * emb[:, :, None, None]).sum(1)          # one picture, every sound
        gh, gw = heats.shape[-2:]
        for lab, hm in zip(labels, heats):
            gy, gx = divmod(int(hm.reshape(-1).argmax()), gw)
            u, v = (gx + 0.5) / gw * W, (gy + 0.5) / gh * H
            pk = float(hm.max())
            rows.append({"photo": name, "category": cat, "sound": lab, "positive": lab == cat,
                         "peak": pk, "peak_in_box": bool(box and box[0] <= u <= box[2] and box[1] <= v <= box[3])})
    pos = [r for r in rows if r["positive"]]
    neg = [r for r in rows if not r["positive"]]
    summary = {"positives": len(pos), "negatives": len(neg),
               "peak in box (positives)": float(np.mean([r["peak_in_box"] for r in pos])) if pos else None,
               "mean peak cosine, positives": float(np.mean([r["peak"] for r in pos])),
               "mean peak cosine, negatives": float(np.mean([r["peak"] for r in neg]))}
    for name in PHOTOS:
        ps = [r for r in pos if r["photo"] == name]
        ns = [r for r in neg if r["photo"] == name]
        print(f"{name:<15} positives {len(ps):>3}: peak in box {np.mean([r['peak_in_box'] for r in ps]) if ps else float('nan'):.2f}"
              f"  peak {np.mean([r['peak'] for r in ps]) if ps else float('nan'):.3f}   negatives {len(ns):>3}: "
              f"peak {np.mean([r['peak'] for r in ns]):.3f}")
    print(json.dumps(summary))
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "camera.json"), "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
