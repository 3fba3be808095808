"""The split asset pools in one file, so that a machine without the packages can compose scenes.

  python3 -m avloc_corpus.scenes.pack --seed 0        # -> .cache/pack/synth-v3-seed0.pack (~20 MB)

Why: the corpus is built from ~1 GB of unpacked Debian/npm packages, rasterised SVGs and soundfont
renders, while composing scenes needs only the ~400 trimmed pictures, ~100 sounds and ~40
backgrounds that `build.load_split_assets` returns. A GPU machine that cannot reach apt or npm gets
this file instead and builds the same pools (`--pack` of `pretrain` and `train_scenes`).
Pictures are stored as PNG (exact), backgrounds as the JPEGs they were (re-encoded at quality 95
after the loader's resize), sounds as 16-bit PCM at the corpus rate.
"""
from __future__ import annotations

import argparse
import io
import os
from typing import Dict, List, Tuple

import numpy as np
import torch
from PIL import Image

from .compose import pcm16

FORMAT = "avloc-asset-pack/1"


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def write_pack(path: str, pools: Dict, bgs: Dict[str, List], seed: int, rate: int) -> None:
    """pools, bgs as `build.load_split_assets(seed, rate)` returns them."""
    data = {"format": FORMAT, "seed": seed, "rate": rate, "pools": {}, "backgrounds": {}}
    for split, cats in pools.items():
        data["pools"][split] = {c: {"pictures": [(spec, _png(im)) for spec, im in v["pictures"]],
                                    "sounds": [(spec, torch.from_numpy(pcm16(x))) for spec, x in v["sounds"]]}
                                for c, v in cats.items()}
        data["backgrounds"][split] = [(spec, _jpeg(im)) for spec, im in bgs[split]]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(data, path + ".tmp")
    os.replace(path + ".tmp", path)


def read_pack(path: str, seed: int, rate: int) -> Tuple[Dict, Dict[str, List]]:
    """(pools, backgrounds) exactly as `build.load_split_assets(seed, rate)` returns them."""
    data = torch.load(path, weights_only=False)   # our own file: bytes and specs, not only tensors
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not an {FORMAT} file")
    if data["seed"] != seed or data["rate"] != rate:
        raise ValueError(f"{path} holds the splits of seed {data['seed']} at {data['rate']} Hz, "
                         f"not seed {seed} at {rate} Hz")

    def img(b: bytes) -> Image.Image:
        im = Image.open(io.BytesIO(b))
        im.load()
        return im

    pools = {split: {c: {"pictures": [(spec, img(b)) for spec, b in v["pictures"]],
                         "sounds": [(spec, x.numpy().astype(np.float32) / 32767.0) for spec, x in v["sounds"]]}
                     for c, v in cats.items()}
             for split, cats in data["pools"].items()}
    bgs = {split: [(spec, img(b).convert("RGB")) for spec, b in items]
           for split, items in data["backgrounds"].items()}
    return pools, bgs


def default_path(seed: int) -> str:
    from ..paths import CORPUS, cache_dir
    return os.path.join(cache_dir(), "pack", f"{CORPUS}-seed{seed}.pack")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--out")
    a = p.parse_args(argv)
    out = a.out or default_path(a.seed)
    from .build import load_split_assets   # needs the unpacked packages; reading a pack does not
    write_pack(out, *load_split_assets(a.seed, a.rate), a.seed, a.rate)
    print(f"{out}: {os.path.getsize(out) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
