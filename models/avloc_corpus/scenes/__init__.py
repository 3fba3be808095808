"""Scenes composed from the split asset pools, stored as corpora or kept in memory.

compose.py makes one scene; build.py is the corpus builder (and loads the split pools from the
packages), photo_corpus.py the photographs-only corpus; pack.py keeps the pools in one file for a
machine without the packages, pools.py reads them from either; generate.py composes fresh scenes
in parallel worker processes; scene_cache.py holds a stored split as tensors, with its ground truth.
"""
