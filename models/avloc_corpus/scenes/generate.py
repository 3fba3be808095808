"""Fresh training data composed in memory, in parallel worker processes.

Why: the stored corpus has 6,000 training scenes, composed once; a machine with many cores and a
GPU can afford new scenes (new object combinations, positions, scales, background crops, audio
excerpts) for far more steps than that. Composition is CPU work (PIL, numpy, scipy), so it is
split into chunks, each seeded by (tag, chunk index) — the result depends on the seed and the
chunk size, never on the number of workers.
"""
from __future__ import annotations

import multiprocessing as mp
import random
from typing import Callable, Dict, List

import numpy as np

from . import build, compose

CHUNK = 1000
_JOB: Dict[str, Callable] = {}   # the chunk function, inherited by forked workers


def _run_chunk(args):
    n, tag = args
    return _JOB["fn"](n, random.Random(tag))


def in_chunks(fn: Callable[[int, random.Random], Dict[str, np.ndarray]], n: int, tag: str,
              workers: int) -> Dict[str, np.ndarray]:
    """fn(count, rng) -> dict of arrays; returns the concatenation over chunks of CHUNK items."""
    jobs = [(min(CHUNK, n - i), f"{tag}:{i // CHUNK}") for i in range(0, n, CHUNK)]
    _JOB["fn"] = fn
    if workers <= 1 or len(jobs) == 1:
        parts = [_run_chunk(j) for j in jobs]
    else:
        # fork: the workers inherit the asset pools instead of unpickling them
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_run_chunk, jobs)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def scene_arrays(pool: Dict, bgs: List, size: int, seconds: float, rate: int, second_prob: float):
    """A chunk function making scenes: images uint8 [n,S,S,3], waves int16 [n,T], sounding boxes."""
    cats = build.scene_categories(pool)
    n_samples = int(round(seconds * rate))

    def make(n: int, rng: random.Random) -> Dict[str, np.ndarray]:
        imgs = np.empty((n, size, size, 3), np.uint8)
        waves = np.empty((n, n_samples), np.int16)
        boxes = np.empty((n, 4), np.int32)
        for i in range(n):
            canvas, wave, rec = build.compose_scene(pool, cats, bgs, rng, size, n_samples, second_prob)
            imgs[i] = np.asarray(canvas.convert("RGB"))
            waves[i] = compose.pcm16(wave)
            boxes[i] = rec["boxes"][0]
        return {"images": imgs, "waves": waves, "boxes": boxes}

    return make
