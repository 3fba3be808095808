"""Training on the corpus and what follows it up to the shipped bundle.

pretrain.py pretrains the encoders on training assets; train_scenes.py trains AVIN or EZ-VSL
self-supervised on scenes, train_heads.py the projections from the scenes' boxes and labels (plot.py
draws their curves); checkpoints.py loads a checkpoint back as a model with the feature centering
that centering.py chose for it on val; ship.py exports it as a bundle with its card; collect.py
packs a run folder's results into a few small files.
"""
