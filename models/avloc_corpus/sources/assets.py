"""Load catalog entries into arrays: pictures as trimmed RGBA, sounds as mono float32.

Pictures are trimmed to their alpha bounding box so that a pasted object's box is its visible
extent. Sounds are resampled to the corpus rate and peak-normalised; silence is trimmed so a
random crop lands on the sound, not on the recording's lead-in.
"""
from __future__ import annotations

import glob
import io
import os
import subprocess
import tempfile
from functools import lru_cache
from math import gcd
from typing import Dict, List

import numpy as np
from PIL import Image, ImageFont
from scipy.signal import resample_poly

from . import packages
from .rcc import read_rcc

NOTO_FONT = "usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"


@lru_cache(maxsize=8)
def _rcc(name: str) -> Dict[str, bytes]:
    return read_rcc(packages.path("usr/share/gcompris-qt/rcc", f"{name}.rcc"))


def _rcc_bytes(ref: str) -> bytes:
    bundle, inner = ref.split(":", 1)
    return _rcc(bundle)[inner]


def _trim(im: Image.Image) -> Image.Image:
    im = im.convert("RGBA")
    alpha = np.asarray(im)[:, :, 3]
    ys, xs = np.nonzero(alpha > 24)
    if len(xs) == 0:
        raise ValueError("empty picture")
    return im.crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))


def _rasterise(svg_bytes: bytes, width: int) -> Image.Image:
    with tempfile.TemporaryDirectory() as tmp:
        svg, png = os.path.join(tmp, "a.svg"), os.path.join(tmp, "a.png")
        with open(svg, "wb") as fh:
            fh.write(svg_bytes)
        env = dict(os.environ, LD_LIBRARY_PATH=packages.path("usr/lib/x86_64-linux-gnu"))
        subprocess.run([packages.path("usr/bin/rsvg-convert"), "-w", str(width), svg, "-o", png],
                       check=True, env=env)
        im = Image.open(png)
        im.load()
    return im


def _iconify_svg(ref: str) -> bytes:
    """An Iconify icon as a standalone SVG: its body inside a viewBox of the icon's (or set's) size."""
    set_name, name = ref.split(":", 1)
    data = packages.iconify_icons(set_name)
    icon = data["icons"][name]
    left, top = icon.get("left", data.get("left", 0)), icon.get("top", data.get("top", 0))
    w, h = icon.get("width", data.get("width", 16)), icon.get("height", data.get("height", 16))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'viewBox="{left} {top} {w} {h}" width="{w}" height="{h}">{icon["body"]}</svg>').encode()


def load_picture(spec: Dict, max_side: int = 256) -> Image.Image:
    kind, ref = spec["kind"], spec["ref"]
    if kind == "file":
        im = Image.open(packages.path(ref))
    elif kind == "fluent":
        im = Image.open(packages.fluent_asset(ref))
    elif kind == "noto":
        font = ImageFont.truetype(packages.path(NOTO_FONT), 109)
        chars = "".join(chr(int(c, 16)) for c in ref.split("-"))
        im = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
        from PIL import ImageDraw
        ImageDraw.Draw(im).text((10, 10), chars, font=font, embedded_color=True)
    elif kind == "rcc_svg":
        im = _rasterise(_rcc_bytes(ref), 320)
    elif kind == "iconify":
        im = _rasterise(_iconify_svg(ref), 256)
    else:
        raise ValueError(f"unknown picture kind {kind}")
    im = _trim(im)
    scale = max_side / max(im.size)
    if scale < 1:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
    return im


def _to_rate(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst:
        return x.astype(np.float32)
    g = gcd(src, dst)
    return resample_poly(x, dst // g, src // g).astype(np.float32)


def _finish(x: np.ndarray) -> np.ndarray:
    """Trim leading/trailing near-silence and peak-normalise."""
    env = np.abs(x)
    peak = env.max() if len(env) else 0.0
    if peak <= 1e-6:
        raise ValueError("silent sound")
    idx = np.nonzero(env > 0.02 * peak)[0]
    x = x[idx[0]:idx[-1] + 1]
    return (x / np.abs(x).max() * 0.9).astype(np.float32)


def load_sound(spec: Dict, rate: int, renders: Dict[str, np.ndarray]) -> np.ndarray:
    import soundfile as sf   # here, not at the top: a machine composing from a pack (scenes/pack.py) may lack it
    kind, ref = spec["kind"], spec["ref"]
    if kind == "midi":
        return _finish(renders[ref])
    if kind == "file":
        data, sr = sf.read(packages.path(ref), dtype="float32", always_2d=True)
    elif kind == "rcc_audio":
        data, sr = sf.read(io.BytesIO(_rcc_bytes(ref)), dtype="float32", always_2d=True)
    else:
        raise ValueError(f"unknown sound kind {kind}")
    return _finish(_to_rate(data.mean(axis=1), sr, rate))


def background_files() -> List[Dict]:
    """Photographic backgrounds: MATE nature photos and Plasma wallpapers (one size each)."""
    out = []
    for f in sorted(glob.glob(packages.path("usr/share/backgrounds/mate/nature/*.jpg"))):
        out.append(dict(ref=os.path.relpath(f, packages.root()), package="mate-backgrounds",
                        license="GPL-2+ / CC-BY-SA"))
    for d in sorted(glob.glob(packages.path("usr/share/wallpapers/*/contents/images"))):
        files = sorted(glob.glob(os.path.join(d, "*.jpg")) + glob.glob(os.path.join(d, "*.png")))
        # the size closest to 1920 wide: big enough to crop, small enough to load fast
        files.sort(key=lambda f: abs(int(os.path.basename(f).split("x")[0]) - 1920))
        if files:
            out.append(dict(ref=os.path.relpath(files[0], packages.root()),
                            package="plasma-workspace-wallpapers", license="LGPL-3 / CC-BY-SA-4.0"))
    return out


def load_background(spec: Dict, max_side: int = 640) -> Image.Image:
    im = Image.open(packages.path(spec["ref"])).convert("RGB")
    im.thumbnail((max_side, max_side), Image.BILINEAR)
    return im
