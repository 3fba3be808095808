"""Real-material audio-visual corpus for avloc.

Scenes are composed from pictures and recordings that Debian and npm packages carry; nothing is
downloaded from data-set hosts. Four subpackages, each depending only on those listed before it:

  sources/   where pictures and sounds come from: packages.py fetches them, catalog.py says which
             asset stands for which category and under which licence, assets.py loads them,
             splits.py splits them by asset (also rcc.py, midi.py)
  scenes/    composing scenes and corpora from the split pools: compose.py, build.py (the corpus
             builder), photo_corpus.py, pools.py and pack.py (the pools from the packages or one
             file), generate.py (in memory, in parallel), scene_cache.py (a split as tensors)
  training/  encoder pretraining, scene and head training, checkpoints, feature centering, export
             (ship.py) and collecting a run's results
  reports/   evaluation and diagnostics of checkpoints and bundles: report.py, controls.py,
             calibrate.py, camera.py, ceiling.py, cut_probe.py, compare.py, census.py

paths.py, beside them, names the corpus version and the cache (models/.cache) that all of them use.
Run a command as `python3 -m avloc_corpus.<subpackage>.<module>` from models/.
"""
