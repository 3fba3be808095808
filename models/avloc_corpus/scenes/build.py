"""Build the scene corpus: python3 -m avloc_corpus.scenes.build --out .cache/corpus/synth-v3 --seed 0

Writes <out>/{train,val,test}/manifest.jsonl in the toolkit's format (image, audio, boxes of the
sounding object, sounding=true) plus, per line, every object's category/box/asset and the audio's
assets with package and licence; <out>/splits.json lists which asset went to which split, and
<out>/corpus.json the configuration. Deterministic from --seed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from typing import Dict, List

import numpy as np

from ..paths import cache_dir, corpus_dir
from ..sources import assets, catalog, midi, packages, splits
from . import compose

SPLITS = ("train", "val", "test")


def asset_id(a: Dict) -> str:
    return f"{a['kind']}:{a['ref']}"


def load_split_assets(seed: int, rate: int):
    """Returns (per-split {category: {pictures: [(spec, img)], sounds: [(spec, wave)]}}, backgrounds),
    from the unpacked packages (pools.py also reads them from a pack file)."""
    rng = random.Random(seed)
    all_midi = [s for c in catalog.CATEGORIES.values() for s in c["sounds"] if s["kind"] == "midi"]
    renders = midi.render_all(all_midi, packages.soundfont, rate, os.path.join(cache_dir(), "renders"))
    out = {s: {} for s in SPLITS}
    icon_sets = {n: (lic, packages.iconify_icons(n)) for n, (_, lic) in packages.ICONIFY_SETS.items()}
    for cat in sorted(catalog.CATEGORIES):
        held = cat in catalog.HELD_OUT
        spec = catalog.CATEGORIES[cat]
        ps = splits.split_list(catalog.pictures(cat, icon_sets), rng, held)
        ss = splits.split_list(spec["sounds"], rng, held)
        for s in SPLITS:
            out[s][cat] = {"pictures": [(a, assets.load_picture(a)) for a in ps[s]],
                           "sounds": [(a, assets.load_sound(a, rate, renders)) for a in ss[s]]}
    bgs = splits.split_backgrounds(assets.background_files(), rng)
    bg = {s: [(b, assets.load_background(b)) for b in bgs[s]] for s in SPLITS}
    return out, bg


def attribution(a: Dict) -> Dict:
    return {"asset": asset_id(a), "package": a["package"], "license": a["license"]}


def compose_scene(pool: Dict, cats: List[str], bgs: List, rng: random.Random, size: int, n_samples: int,
                  second_prob: float):
    """One scene from one split's pools: (RGBA canvas, waveform, manifest fields without paths)."""
    k = rng.choices([1, 2, 3], weights=[0.3, 0.45, 0.25])[0]
    chosen = rng.sample(cats, k)
    picks = [rng.choice(pool[c]["pictures"]) for c in chosen]
    bg_spec, bg_img = rng.choice(bgs)
    canvas = compose.background_crop(bg_img, size, rng)
    boxes = compose.place_objects(canvas, [p[1] for p in picks], rng)
    s_idx = rng.randrange(k)
    snd_spec, snd = rng.choice(pool[chosen[s_idx]]["sounds"])
    other = None
    offscreen = [c for c in cats if c not in chosen]
    if rng.random() < second_prob and offscreen:
        oc = rng.choice(offscreen)
        other = rng.choice(pool[oc]["sounds"])
    wave, info = compose.mix_audio(snd, n_samples, rng, other[1] if other else None)
    rec = {
        "boxes": [boxes[s_idx]], "sounding": True,
        "sounding_category": chosen[s_idx], "unseen": chosen[s_idx] in catalog.HELD_OUT,
        "objects": [{"category": c, "box": b, **attribution(p[0])} for c, b, p in zip(chosen, boxes, picks)],
        "sounding_index": s_idx,
        "sound": attribution(snd_spec),
        "background": {"asset": bg_spec["ref"], "package": bg_spec["package"], "license": bg_spec["license"]},
        **info,
    }
    if other is not None:
        rec["second_sound"] = {"category": oc, **attribution(other[0])}
    return canvas, wave, rec


def scene_categories(pool: Dict) -> List[str]:
    return [c for c, v in sorted(pool.items()) if v["pictures"] and v["sounds"]]


def build_split(name: str, n: int, pool: Dict, bgs: List, out_dir: str, args, rng: random.Random) -> None:
    import soundfile as sf   # here, not at the top: a machine composing from a pack (pack.py) may lack it
    cats = scene_categories(pool)
    os.makedirs(os.path.join(out_dir, "img"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "wav"), exist_ok=True)
    n_samples = int(round(args.seconds * args.rate))
    with open(os.path.join(out_dir, "manifest.jsonl"), "w") as mf:
        for i in range(n):
            canvas, wave, rec = compose_scene(pool, cats, bgs, rng, args.size, n_samples, args.second_prob)
            sid = f"{name}-{i:05d}"
            canvas.convert("RGB").save(os.path.join(out_dir, "img", f"{sid}.jpg"), quality=92)
            sf.write(os.path.join(out_dir, "wav", f"{sid}.wav"), wave, args.rate, subtype="PCM_16")
            mf.write(json.dumps({"id": sid, "image": f"img/{sid}.jpg", "audio": f"wav/{sid}.wav", **rec}) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=corpus_dir())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=6000)
    p.add_argument("--val", type=int, default=300)
    p.add_argument("--test", type=int, default=600)
    p.add_argument("--size", type=int, default=160, help="scene side in pixels")
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--seconds", type=float, default=3.0, help="stored clip length (training crops a window)")
    p.add_argument("--second-prob", type=float, default=0.3, help="chance of a quieter off-screen source")
    args = p.parse_args(argv)
    t0 = time.time()
    packages.ensure_packages()
    pools, bgs = load_split_assets(args.seed, args.rate)
    os.makedirs(args.out, exist_ok=True)
    listing = {s: {"backgrounds": [b["ref"] for b, _ in bgs[s]],
                   "categories": {c: {"pictures": [attribution(a) for a, _ in v["pictures"]],
                                      "sounds": [attribution(a) for a, _ in v["sounds"]]}
                                  for c, v in pools[s].items()}} for s in SPLITS}
    with open(os.path.join(args.out, "splits.json"), "w") as f:
        json.dump(listing, f, indent=1)
    for k, s in enumerate(SPLITS):
        rng = random.Random(f"{args.seed}:{s}")
        build_split(s, getattr(args, s), pools[s], bgs[s], os.path.join(args.out, s), args, rng)
        print(f"{s}: {getattr(args, s)} scenes", flush=True)
    with open(os.path.join(args.out, "corpus.json"), "w") as f:
        json.dump({**vars(args), "held_out": list(catalog.HELD_OUT),
                   "categories": sorted(catalog.CATEGORIES), "seconds_built": round(time.time() - t0, 1)}, f, indent=1)
    print(f"done in {time.time() - t0:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
