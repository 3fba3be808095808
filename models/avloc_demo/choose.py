"""Which background, objects and recordings a demo uses.

Assets come from one split of the scene corpus, by default `test`: pictures, recordings and
backgrounds that no training scene used, so the overlay shows generalisation rather than memory.
Held-out categories are skipped: they exist to measure unseen categories; a demo should show what
the model was taught.

The split is the corpus' own (`avloc_corpus.scenes.build.load_split_assets` with the corpus' seed),
run with its loaders stubbed out: the same assignment of assets to splits, but in milliseconds instead
of the 5-20 s it takes to load and rasterise every asset — then only the chosen few are loaded.
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List

import numpy as np
from PIL import Image

from avloc_corpus.scenes import build
from avloc_corpus.sources import assets, catalog, midi


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


@contextmanager
def _loaders_stubbed() -> Iterator[Dict]:
    """While active, the corpus' loaders return None; the MIDI render call's arguments are kept so
    the real call can hit the same render cache (its key depends on the full list)."""
    saved = (assets.load_picture, assets.load_sound, assets.load_background, midi.render_all)
    calls: Dict = {}

    def render_all(*args, **kwargs):
        calls["render_all"] = (args, kwargs)
        return {}

    assets.load_picture = lambda *a, **k: None
    assets.load_sound = lambda *a, **k: None
    assets.load_background = lambda *a, **k: None
    midi.render_all = render_all
    try:
        yield calls
    finally:
        assets.load_picture, assets.load_sound, assets.load_background, midi.render_all = saved


def split_specs(split_seed: int, rate: int):
    """(per-split {category: {pictures: [spec], sounds: [spec]}}, per-split [background spec], render args)."""
    with _loaders_stubbed() as calls:
        pools, bgs = build.load_split_assets(split_seed, rate)
    pools = {s: {c: {k: [spec for spec, _ in v[k]] for k in ("pictures", "sounds")} for c, v in p.items()}
             for s, p in pools.items()}
    return pools, {s: [b for b, _ in v] for s, v in bgs.items()}, calls["render_all"]


def choose(split: str, n_objects: int, rng: random.Random, rate: int, split_seed: int,
           out_long_side: int) -> DemoAssets:
    pools, backgrounds, render_call = split_specs(split_seed, rate)
    pool = pools[split]
    cats = sorted(c for c, v in pool.items() if v["pictures"] and v["sounds"] and c not in catalog.HELD_OUT)
    if len(cats) < n_objects:
        raise SystemExit(f"the {split} split has only {len(cats)} categories with pictures and sounds")
    picked = [(c, rng.choice(pool[c]["pictures"])) for c in rng.sample(cats, n_objects)]
    bg_spec = rng.choice(backgrounds[split])
    needs_midi = any(s["kind"] == "midi" for c, _ in picked for s in pool[c]["sounds"])
    renders = midi.render_all(*render_call[0], **render_call[1]) if needs_midi else {}
    objects = [DemoObject(c, assets.load_picture(spec), spec,
                          [assets.load_sound(s, rate, renders) for s in pool[c]["sounds"]], pool[c]["sounds"])
               for c, spec in picked]
    # the corpus keeps backgrounds at 640 px; this one is loaded large enough to crop the output from
    bg = assets.load_background(bg_spec, max_side=max(640, 2 * out_long_side))
    return DemoAssets(bg, bg_spec, objects)
