"""Fetch and unpack the packages the corpus is made of, into the gitignored cache (paths.cache_dir).

Why unpack instead of install: `apt-get download` + `dpkg-deb -x` needs no root-owned state and
keeps every asset's origin obvious (its path under the cache names its package).
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import tarfile
from functools import lru_cache

from ..paths import cache_dir

APT_PACKAGES = [
    "tuxpaint-stamps-default",   # GPL-2: photos with alpha + recordings
    "gcompris-qt-data",          # GPL-3+/CC-BY-SA: SVG drawings + recordings in .rcc bundles
    "fonts-noto-color-emoji",    # OFL-1.1: emoji pictures
    "timgm6mb-soundfont",        # GPL-2: second GM timbre set (test renders)
    "fluid-soundfont-gs",        # MIT: GS effects bank (dog, horse gallop, siren)
    "fluid-soundfont-gm",        # MIT: General MIDI instruments (train renders)
    "mate-backgrounds",          # GPL-2+: nature photos
    "plasma-workspace-wallpapers",  # LGPL/CC-BY-SA: landscape photos
    "sound-theme-freedesktop",   # CC-BY-SA / GPL: phone ringing
    "librsvg2-bin",              # LGPL-2+: rsvg-convert, to rasterise GCompris SVGs
]
NPM_PACKAGES = ["@lobehub/fluent-emoji-3d@1.1.0"]  # MIT: 3D emoji WebP with alpha
# Iconify's JSON packs of colour emoji sets (SVG bodies in one icons.json each): ten drawing styles
# of the same objects, which is what teaches the visual encoder a category rather than a picture.
ICONIFY_SETS = {
    "noto": ("1.2.9", "Apache-2.0"), "noto-v1": ("1.2.5", "Apache-2.0"),
    "twemoji": ("1.2.5", "CC-BY-4.0"), "fluent-emoji": ("1.2.7", "MIT"),
    "fluent-emoji-flat": ("1.2.6", "MIT"), "fxemoji": ("1.2.2", "Apache-2.0"),
    "streamline-emojis": ("1.2.4", "CC-BY-4.0"), "openmoji": ("1.2.29", "CC-BY-SA-4.0"),
    "emojione": ("1.2.3", "CC-BY-4.0"), "emojione-v1": ("1.2.3", "CC-BY-SA-4.0"),
}


def root() -> str:
    """Where apt packages are unpacked (a private filesystem root)."""
    return os.path.join(cache_dir(), "root")


def ensure_packages() -> None:
    ensure_debs(APT_PACKAGES)
    fluent = os.path.join(cache_dir(), "fluent", "package", "assets")
    if not os.path.isdir(fluent):
        for spec in NPM_PACKAGES:
            subprocess.run(["npm", "pack", spec], cwd=cache_dir(), check=True,
                           stdout=subprocess.DEVNULL)
        tgz = glob.glob(os.path.join(cache_dir(), "lobehub-fluent-emoji-3d-*.tgz"))[0]
        os.makedirs(os.path.join(cache_dir(), "fluent"), exist_ok=True)
        with tarfile.open(tgz) as tf:
            tf.extractall(os.path.join(cache_dir(), "fluent"))
    ensure_iconify()


def ensure_debs(names) -> None:
    """`apt-get download` + `dpkg-deb -x` of these Debian packages into root(), once each."""
    debs = os.path.join(cache_dir(), "debs")
    os.makedirs(debs, exist_ok=True)
    os.makedirs(root(), exist_ok=True)
    for pkg in names:
        found = glob.glob(os.path.join(debs, f"{pkg}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True,
                           stdout=subprocess.DEVNULL)
            found = glob.glob(os.path.join(debs, f"{pkg}_*.deb"))
        stamp = os.path.join(debs, f".{pkg}.unpacked")
        if not os.path.exists(stamp):
            subprocess.run(["dpkg-deb", "-x", found[0], root()], check=True)
            open(stamp, "w").close()


def ensure_iconify() -> None:
    for name, (version, _) in ICONIFY_SETS.items():
        dest = os.path.join(cache_dir(), "iconify", name)
        if os.path.exists(os.path.join(dest, "package", "icons.json")):
            continue
        os.makedirs(dest, exist_ok=True)
        subprocess.run(["npm", "pack", "--silent", f"@iconify-json/{name}@{version}"], cwd=dest, check=True,
                       stdout=subprocess.DEVNULL)
        with tarfile.open(glob.glob(os.path.join(dest, "*.tgz"))[0]) as tf:
            tf.extractall(dest)


@lru_cache(maxsize=None)
def iconify_icons(name: str) -> dict:
    """Parsed once per process (fluent-emoji's is 100 MB); the set's icons.json: {"icons": {name: {"body": svg...}}, "width", "height", "aliases"}."""
    with open(os.path.join(cache_dir(), "iconify", name, "package", "icons.json")) as fh:
        return json.load(fh)


def path(*parts: str) -> str:
    return os.path.join(root(), *parts)


def fluent_asset(codepoint: str) -> str:
    return os.path.join(cache_dir(), "fluent", "package", "assets", f"{codepoint}.webp")


def soundfont(name: str) -> str:
    """FluidR3_GM is installed system-wide; the others are unpacked into the cache."""
    for cand in (path("usr/share/sounds/sf2", name), f"/usr/share/sounds/sf2/{name}"):
        if os.path.exists(cand):
            return cand
    raise FileNotFoundError(name)
