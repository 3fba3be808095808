"""A live synthetic demo source: moving objects, the sounding one changes every few seconds,
published to the running service over RTMP with ffmpeg.

  cd models && /usr/bin/python3 -m avloc_corpus.demo [--url rtmp://127.0.0.1:1935/live/demo]

Scenes use test-split assets (pictures, recordings and a background no training scene used) of
seen categories. A loop of --seconds is rendered once to .cache/demo/ (H.264 + AAC), then streamed
in real time forever (`ffmpeg -re -stream_loop -1 ... -c copy -f flv URL`). --render-only stops
after writing the file. The caption shows which object sounds, so the overlay can be judged by eye.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

from . import catalog, compose, packages
from .build import load_split_assets


def render(out_mp4: str, a) -> None:
    rng = random.Random(f"demo:{a.seed}")
    pools, bgs = load_split_assets(0, a.rate)   # seed 0: the corpus' own asset split
    test = pools["test"]
    cats = sorted(c for c, v in test.items() if v["pictures"] and v["sounds"] and c not in catalog.HELD_OUT)
    chosen = rng.sample(cats, a.objects)
    pics = [rng.choice(test[c]["pictures"])[1] for c in chosen]
    sounds = [rng.choice(test[c]["sounds"])[1] for c in chosen]
    bg = compose.background_crop(rng.choice(bgs["test"])[1], a.size, rng)
    S, n_frames = a.size, int(a.seconds * a.fps)
    side = int(0.42 * S)
    objs = []
    for p in pics:
        k = side / max(p.size)
        objs.append(p.resize((max(1, int(p.width * k)), max(1, int(p.height * k))), Image.LANCZOS))
    # each object drifts slowly on its own path; the sounding one cycles every --switch s
    phases = [(rng.uniform(0, 6.3), rng.uniform(0, 6.3), rng.uniform(0.05, 0.12), rng.uniform(0.04, 0.1))
              for _ in objs]
    seg = int(a.switch * a.rate)
    n_audio = int(a.seconds * a.rate)
    audio = np.zeros(n_audio, dtype=np.float32)
    schedule = []
    for s0 in range(0, n_audio, seg):
        who = (s0 // seg) % len(objs)
        n = min(seg, n_audio - s0)
        clip, _ = compose.mix_audio(sounds[who], n, rng)
        fade = np.minimum(1, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.02 * a.rate))
        audio[s0:s0 + n] = clip * fade
        schedule.append({"from_s": s0 / a.rate, "category": chosen[who]})
    wav = out_mp4[:-4] + ".wav"
    sf.write(wav, audio, a.rate, subtype="PCM_16")
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{S}x{S}", "-r", str(a.fps), "-i", "-", "-i", wav, "-c:v", "libx264", "-preset", "veryfast",
           "-g", str(a.fps), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ar", "44100", "-shortest", out_mp4]
    ff = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for f in range(n_frames):
        t = f / a.fps
        frame = bg.copy()
        who = int(t // a.switch) % len(objs)
        for i, (o, (px, py, fx, fy)) in enumerate(zip(objs, phases)):
            # one lane per object, so they pass close by but rarely hide each other
            cx = ((i + 0.5) / len(objs) + 0.1 * math.sin(px + 2 * math.pi * fx * t)) * S
            cy = (0.5 + 0.28 * math.sin(py + 2 * math.pi * fy * t)) * S
            x0 = int(min(max(cx - o.width / 2, 0), S - o.width))
            y0 = int(min(max(cy - o.height / 2, 0), S - o.height))
            frame.paste(o, (x0, y0), o)
        ImageDraw.Draw(frame).text((6, S - 16), f"sounding: {chosen[who]}", fill=(255, 255, 0))
        ff.stdin.write(frame.convert("RGB").tobytes())
    ff.stdin.close()
    if ff.wait() != 0:
        raise RuntimeError("ffmpeg failed to encode the demo")
    with open(out_mp4[:-4] + ".json", "w") as fh:
        json.dump({"categories": chosen, "schedule": schedule, "seed": a.seed}, fh, indent=1)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="rtmp://127.0.0.1:1935/live/demo")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=48.0, help="loop length")
    p.add_argument("--switch", type=float, default=4.0, help="seconds between changes of the sounding object")
    p.add_argument("--objects", type=int, default=3)
    p.add_argument("--size", type=int, default=320)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--render-only", action="store_true")
    a = p.parse_args(argv)
    out_dir = os.path.join(packages.cache_dir(), "demo")
    os.makedirs(out_dir, exist_ok=True)
    mp4 = os.path.join(out_dir, f"demo-{a.seed}-{a.objects}-{int(a.seconds)}-{a.size}.mp4")
    if not os.path.exists(mp4):
        packages.ensure_packages()
        print(f"rendering {mp4} ...", flush=True)
        render(mp4, a)
    if a.render_only:
        print(mp4)
        return
    print(f"publishing {mp4} to {a.url} in a loop (Ctrl-C to stop)", flush=True)
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "warning", "-re", "-stream_loop", "-1", "-i", mp4,
           "-c", "copy", "-f", "flv", a.url]
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":
    main()
