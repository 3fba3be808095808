"""Scenes of photographs only: python3 -m avloc_corpus.scenes.photo_corpus --out .cache/corpus/photo-v1

The main corpus is mostly emoji and drawings; a camera sees photographs. This builds scenes from
the same per-split asset pools as build.py (same seed, so the same asset split: a picture,
recording or background in test is in no training scene of either corpus), keeping only pictures
that are real photographs (catalog.style: Tux Paint's photo stamps), pasted on the split's
wallpaper photographs at the model's input size. Categories that have no photograph in a split
are left out of that split. Same manifest format as build.py, so every tool takes it as --data.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

from ..paths import cache_dir
from ..sources import packages
from ..sources.catalog import style
from .build import SPLITS, asset_id, build_split, load_split_assets, scene_categories


def photo_pool(pool: dict) -> dict:
    """The split's pool with only photographed pictures (categories without any keep no pictures)."""
    return {c: {"pictures": [p for p in v["pictures"] if style(asset_id(p[0])) == "photo"], "sounds": v["sounds"]}
            for c, v in pool.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(cache_dir(), "corpus", "photo-v1"))
    p.add_argument("--seed", type=int, default=0, help="the asset split's seed: the main corpus' own")
    p.add_argument("--train", type=int, default=3000)
    p.add_argument("--val", type=int, default=300)
    p.add_argument("--test", type=int, default=600)
    p.add_argument("--size", type=int, default=224, help="scene side in pixels (the model's input)")
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--second-prob", type=float, default=0.3)
    args = p.parse_args(argv)
    t0 = time.time()
    packages.ensure_packages()
    pools, bgs = load_split_assets(args.seed, args.rate)
    os.makedirs(args.out, exist_ok=True)
    census = {}
    for s in SPLITS:
        pool = photo_pool(pools[s])
        cats = scene_categories(pool)
        census[s] = {c: len(pool[c]["pictures"]) for c in cats}
        if len(cats) < 3:
            raise SystemExit(f"{s}: only {len(cats)} categories have photographs; need 3 for 3-object scenes")
        build_split(s, getattr(args, s), pool, bgs[s], os.path.join(args.out, s), args, random.Random(f"photo:{args.seed}:{s}"))
        print(f"{s}: {getattr(args, s)} scenes over {len(cats)} categories: {census[s]}", flush=True)
    with open(os.path.join(args.out, "corpus.json"), "w") as f:
        json.dump({**vars(args), "photos_per_category": census, "seconds_built": round(time.time() - t0, 1)}, f, indent=1)
    print(f"done in {time.time() - t0:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
