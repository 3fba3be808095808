"""What every part of the package names: the corpus version and the gitignored cache it lives in.

The cache is models/.cache (unpacked packages, renders, packs, built corpora, runs); the commands'
defaults (`--data`, `--out`) point into it.
"""
from __future__ import annotations

import os

# the corpus version: its categories and assets (sources/catalog.py); a run folder names the corpus it used
CORPUS = "synth-v3"


def cache_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache")


def corpus_dir() -> str:
    return os.path.join(cache_dir(), "corpus", CORPUS)
