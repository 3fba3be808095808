"""The split asset pools a training or evaluation command composes scenes from: from the
unpacked packages (build.py), or from a pack file (pack.py) on a machine without them."""
from __future__ import annotations

from typing import Optional

from .build import load_split_assets
from .pack import read_pack


def split_pools(seed: int, rate: int, pack: Optional[str] = None):
    """(pools, backgrounds) as build.load_split_assets returns them; with `pack`, read from that file."""
    return read_pack(pack, seed, rate) if pack else load_split_assets(seed, rate)
