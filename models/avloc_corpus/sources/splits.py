"""Split assets (pictures, sounds, backgrounds) into train / val / test, never scenes.

A category's assets are shuffled with the seed, those that prefer the test split (a different
drawing or recording style) are moved to the front, then the first go to test, the next to val
and the rest to train — train always keeps at least one. Held-out categories go wholly to test.
Assets pinned to a split (`split`: whole emoji sets, see catalog.ICON_SPLIT) go there directly.
"""
from __future__ import annotations

import random
from typing import Dict, List, Sequence


def split_list(items: Sequence[Dict], rng: random.Random, held_out: bool = False) -> Dict[str, List[Dict]]:
    items = list(items)
    if held_out:
        return {"train": [], "val": [], "test": items}
    pinned = [a for a in items if a.get("split")]
    items = [a for a in items if not a.get("split")]
    out = _split_free(items, rng)
    for a in pinned:
        out[a["split"]].append(a)
    return out


def _split_free(items: List[Dict], rng: random.Random) -> Dict[str, List[Dict]]:
    rng.shuffle(items)
    items.sort(key=lambda a: 0 if a.get("prefer") == "test" else 1)   # stable: shuffle kept within groups
    n = len(items)
    n_test = max(1, round(0.25 * n)) if n >= 2 else 0
    n_val = 1 if n - n_test >= 3 else 0
    if n >= 6:
        n_val = max(1, round(0.15 * n))
    return {"test": items[:n_test], "val": items[n_test:n_test + n_val], "train": items[n_test + n_val:]}


def split_backgrounds(bgs: Sequence[Dict], rng: random.Random) -> Dict[str, List[Dict]]:
    bgs = list(bgs)
    rng.shuffle(bgs)
    n = len(bgs)
    n_test, n_val = max(1, n // 5), max(1, n // 8)
    return {"test": bgs[:n_test], "val": bgs[n_test:n_test + n_val], "train": bgs[n_test + n_val:]}
