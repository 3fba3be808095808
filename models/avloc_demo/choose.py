"""Which background, objects and recordings a demo uses.

Assets come from one split of the scene corpus (`avloc_corpus.build.load_split_assets`, with the
corpus' split seed), by default `test`: pictures, recordings and backgrounds that no training scene
used, so the overlay shows generalisation rather than memory. Held-out categories are skipped: they
exist to measure unseen categories, a demo should show what the model was taught.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
from PIL import Image

from avloc_corpus import assets, catalog
from avloc_corpus.build import load_split_assets


@dataclass
class DemoObject:
    category: str
    picture: Image.Image            # trimmed RGBA, as the corpus loads it
    picture_asset: Dict
    sounds: List[np.ndarray]        # every recording of the category in the split (mono, `rate`)
    sound_assets: List[Dict]


@dataclass
class DemoAssets:
    background: Image.Image         # RGB, large enough to crop the output size from
    background_asset: Dict
    objects: List[DemoObject]


def choose(split: str, n_objects: int, rng: random.Random, rate: int, split_seed: int,
           out_long_side: int) -> DemoAssets:
    pools, backgrounds = load_split_assets(split_seed, rate)
    pool = pools[split]
    cats = sorted(c for c, v in pool.items() if v["pictures"] and v["sounds"] and c not in catalog.HELD_OUT)
    if len(cats) < n_objects:
        raise SystemExit(f"the {split} split has only {len(cats)} categories with pictures and sounds")
    objects = []
    for c in rng.sample(cats, n_objects):
        spec, pic = rng.choice(pool[c]["pictures"])
        objects.append(DemoObject(c, pic, spec, [w for _, w in pool[c]["sounds"]],
                                  [a for a, _ in pool[c]["sounds"]]))
    bg_spec, _ = rng.choice(backgrounds[split])
    # the corpus keeps backgrounds at 640 px; reload the chosen one large enough for the output size
    bg = assets.load_background(bg_spec, max_side=max(640, 2 * out_long_side))
    return DemoAssets(bg, bg_spec, objects)
