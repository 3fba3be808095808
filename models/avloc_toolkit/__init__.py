"""avloc_toolkit: AVIN (Induction Network, ACM MM 2023) in PyTorch for the avloc service.

Modules: config (sizes/presets), mel + frontend (Slaney log-mel), visual / audio (encoders),
model (AVIN), losses (objective), data (manifest dataset), train, export (bundle),
convert (official checkpoint -> bundle), evaluate (cIoU / AUC / NSA).
"""
__all__ = ["config", "mel", "frontend", "visual", "audio", "model", "losses", "data", "train",
           "export", "convert", "evaluate"]
