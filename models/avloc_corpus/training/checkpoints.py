"""A trained checkpoint back as a model, with the feature centering chosen for it on val
(centering.py writes that choice beside the checkpoint; this module reads it)."""
from __future__ import annotations

import json
import os

import torch

from avloc_toolkit.config import AVINConfig
from avloc_toolkit.model import AVIN


def load_ckpt(path: str):
    ck = torch.load(path, map_location="cpu")
    cfg = AVINConfig.from_dict(ck["config"])     # the variant it was trained as
    # chosen on val after training (centering.py), or the one val selected best.pt with
    cfg.feature_centering = recorded(path, ck.get("config", {}).get("feature_centering", 0.0))
    model = AVIN(cfg, freeze_audio=True)
    model.load_state_dict(ck["model"])
    return model.eval(), ck


def sidecar(checkpoint: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(checkpoint)), "centering.json")


def _record(checkpoint: str) -> dict:
    """What this tool wrote for this checkpoint ({} if nothing, or if it was for another file)."""
    path = sidecar(checkpoint)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        rec = json.load(f)
    return rec if rec["checkpoint"] == os.path.basename(checkpoint) else {}


def recorded(checkpoint: str, default: float = 0.0) -> float:
    """The centering chosen for this checkpoint by this tool, else `default` (the one its training
    selected it with, 0 for the official avmap)."""
    return float(_record(checkpoint).get("centering", default))


def recorded_scan(checkpoint: str) -> dict:
    """The val metrics per centering that chose it ({} if none was chosen for this checkpoint)."""
    return _record(checkpoint).get("val", {})
