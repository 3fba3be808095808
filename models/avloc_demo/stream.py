"""Publish the live demo scene to avloc over RTMP:

  cd models && /usr/bin/python3 -m avloc_demo.stream [--url rtmp://127.0.0.1:1935/live] [--stream-id demo]

2-3 objects of different categories glide over a background; every --switch seconds another one
sounds (its category's recordings), and a caption names it. A line per switch says which object
sounds and where, to compare with the overlay. Frames are made in real time and written to
ffmpeg's stdin; the audio is written, in step with them, to a second pipe. Why not loop a
pre-rendered audio file with `-stream_loop`: ffmpeg reads a file input whenever the other input has
nothing yet, so the audio would run ahead of the live frames and pile up in the muxer. In step,
both follow one clock (the frame counter), so they stay in sync forever — even when a busy CPU
makes the generator slower than real time (the stream then runs slow, never out of sync).
Writes block when ffmpeg is slow: nothing is queued here.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import time
from typing import List, Optional

from . import choose, scene, soundtrack


LATE_S = 0.25   # a frame later than this resets the pacing clock instead of being caught up


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="rtmp://127.0.0.1:1935/live",
                   help="RTMP application URL (the stream id is appended), or an output file such as demo.flv")
    p.add_argument("--stream-id", default="demo")
    p.add_argument("--seconds", type=float, default=0, help="stop after this much media time (0: run until stopped)")
    p.add_argument("--seed", type=int, default=0, help="picks objects, background, paths and the schedule")
    p.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--objects", type=int, default=3, choices=(2, 3, 4))
    p.add_argument("--switch", type=float, default=4.0, help="seconds between changes of the sounding object")
    p.add_argument("--loop", type=float, default=48.0, help="the sound schedule repeats after this many seconds")
    p.add_argument("--split", default="test", choices=("train", "val", "test"),
                   help="corpus split the assets come from (test: never seen in training)")
    p.add_argument("--split-seed", type=int, default=0, help="the corpus' asset-split seed (avloc_corpus/scenes/build.py --seed)")
    p.add_argument("--no-caption", action="store_true", help="don't name the sounding object in the picture")
    p.add_argument("--log", help="also append one JSON line per switch to this file")
    p.add_argument("--truth", help="write one JSON line per frame (pts, sounding object, every box): ground "
                                   "truth to score heatmaps against (`avloc watch --json`, by pts)")
    p.add_argument("--fast", action="store_true", help="don't pace to real time (writing a file, tests)")
    p.add_argument("--ffmpeg", default=os.environ.get("FFMPEG_PATH") or "ffmpeg")
    a = p.parse_args(argv)
    try:
        a.width, a.height = (int(v) for v in a.size.lower().split("x"))
    except ValueError:
        p.error(f"--size must be WIDTHxHEIGHT, not {a.size!r}")
    if a.width % 2 or a.height % 2:
        p.error("--size: H.264 4:2:0 needs even width and height")
    return a


def target(a: argparse.Namespace) -> str:
    if a.url.startswith(("rtmp://", "rtmps://")):
        # A service with auth on needs a publish token (`avloc token --publish ID`) in the URL.
        token = os.environ.get("AVLOC_TOKEN")
        return f"{a.url.rstrip('/')}/{a.stream_id}" + (f"?token={token}" if token else "")
    return a.url


def ffmpeg_command(a: argparse.Namespace, audio_fd: int, rate: int) -> List[str]:
    # Raw inputs need no probing; ffmpeg opens its inputs one after the other and by default reads
    # seconds of each while opening it — the generator, blocked writing a frame to the first, would
    # never feed the second: deadlock. One packet each is enough.
    raw = ["-probesize", "32", "-analyzeduration", "0"]
    return [a.ffmpeg, "-hide_banner", "-nostats", "-loglevel", "warning",
            *raw, "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{a.width}x{a.height}", "-framerate", str(a.fps),
            "-i", "pipe:0",
            *raw, "-thread_queue_size", "64", "-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", f"pipe:{audio_fd}",
            "-map", "0:v", "-map", "1:a",
            # ultrafast + zerolatency: the encoder is most of the demo's CPU; a keyframe every 2 s
            # so a viewer that joins late sees a picture soon
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", str(2 * a.fps), "-c:a", "aac", "-b:a", "64k", "-ar", "44100",
            "-f", "flv", "-flvflags", "no_duration_filesize", "-y", target(a)]


class Stop(Exception):
    """Raised by the SIGTERM handler: unlike a flag, it also ends a write blocked on ffmpeg."""


def _on_sigterm(*_) -> None:
    raise Stop("SIGTERM")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main(argv: Optional[List[str]] = None) -> int:
    a = parse_args(argv)
    rate = 16000            # the corpus' rate (its sound cutting assumes it); ffmpeg resamples for AAC
    rng = random.Random(f"avloc-demo:{a.seed}")
    print(f"loading assets ({a.split} split of the scene corpus) ...", flush=True)
    chosen = choose.choose(a.split, a.objects, rng, rate, a.split_seed, max(a.width, a.height))
    cats = [o.category for o in chosen.objects]
    view = scene.Scene(scene.crop_background(chosen.background, a.width, a.height, rng),
                       scene.make_sprites([(o.category, o.picture) for o in chosen.objects], a.width, a.height, rng))
    n_seg = max(a.objects, round(a.loop / a.switch))
    order = soundtrack.make_schedule(a.objects, n_seg, rng)
    sound = soundtrack.Soundtrack(soundtrack.render_loop([o.sounds for o in chosen.objects], order, a.switch, rate, rng),
                                  order, a.switch, rate)
    captions = [None if a.no_caption else scene.make_caption(f"sounding: {c}", a.height) for c in cats]
    bg = chosen.background_asset
    print(f"background: {bg['ref']} ({bg['package']}, {bg['license']})")
    for o in chosen.objects:
        pa = o.picture_asset
        print(f"object {o.category}: picture {pa['kind']}:{pa['ref']} ({pa['package']}, {pa['license']}); "
              f"sounds " + ", ".join(f"{s['kind']}:{s['ref']}" for s in o.sound_assets))
    print(f"schedule (repeats every {sound.period_s:.0f} s, {a.switch:g} s each): "
          + " ".join(cats[i] for i in order), flush=True)

    r_fd, w_fd = os.pipe()
    try:   # room for ~30 s of audio, so an audio write never waits on ffmpeg reading video
        fcntl.fcntl(w_fd, 1031, 1 << 20)   # F_SETPIPE_SZ (Linux)
    except OSError:
        pass
    ff = subprocess.Popen(ffmpeg_command(a, r_fd, rate), stdin=subprocess.PIPE, pass_fds=(r_fd,))
    os.close(r_fd)
    v_fd = ff.stdin.fileno()
    stop = {"why": None}
    signal.signal(signal.SIGTERM, _on_sigterm)
    log = open(a.log, "a") if a.log else None
    truth = open(a.truth, "w") if a.truth else None
    print(f"publishing {a.width}x{a.height} @ {a.fps} fps + audio to {target(a)} (Ctrl-C to stop)", flush=True)
    t0 = time.monotonic()
    n, segment, behind_noted = 0, -1, 0.0
    n_max = int(round(a.seconds * a.fps)) if a.seconds > 0 else None
    rc = 0
    try:
        while stop["why"] is None and (n_max is None or n < n_max):
            t = n / a.fps
            s0, s1 = n * rate // a.fps, (n + 1) * rate // a.fps
            if not a.fast:
                lag = time.monotonic() - t0 - t
                if lag < 0:
                    time.sleep(-lag)
                elif lag > LATE_S:
                    # Late (ffmpeg connecting, a busy CPU): carry on from now rather than rush the
                    # missed frames out in a burst, as a live camera would. Sync doesn't depend on it.
                    t0 += lag
                    if n > a.fps and time.monotonic() - behind_noted > 30:
                        behind_noted = time.monotonic()
                        print(f"note: frames were {lag:.1f} s late (CPU busy); the stream runs slower, still in sync",
                              flush=True)
            if sound.segment(s0) != segment:
                segment = sound.segment(s0)
                who = sound.sounding(s0)
                boxes = view.boxes(t)
                x0, y0, x1, y1 = boxes[who]
                print(f"t={t:7.1f}s  now sounding: {cats[who]:<10} at ({(x0 + x1) // 2}, {(y0 + y1) // 2}) "
                      f"box [{x0}, {y0}, {x1}, {y1}] of {a.width}x{a.height}", flush=True)
                if log:
                    log.write(json.dumps({"t": round(t, 3), "sounding": cats[who], "index": who,
                                          "objects": [{"category": c, "box": list(b)} for c, b in zip(cats, boxes)],
                                          "size": [a.width, a.height]}) + "\n")
                    log.flush()
            if truth:
                who = sound.sounding(s0)
                truth.write(json.dumps({"ptsMs": round(1000 * t, 3), "sounding": who, "category": cats[who],
                                        "sinceSwitchMs": round(1000 * (s0 % sound.segment_n) / rate),
                                        "boxes": [list(b) for b in view.boxes(t)], "size": [a.width, a.height]}) + "\n")
            write_all(v_fd, view.render(t, captions[sound.sounding(s0)]))
            write_all(w_fd, sound.chunk(s0, s1))
            n += 1
    except KeyboardInterrupt:
        stop["why"] = "Ctrl-C"
    except Stop as e:
        stop["why"] = str(e)
    except BrokenPipeError:
        rc = 1
    finally:
        for close in (ff.stdin.close, lambda: os.close(w_fd)):
            try:
                close()
            except OSError:
                pass
        try:
            ff_rc = ff.wait(timeout=10)
        except subprocess.TimeoutExpired:
            ff.kill()
            ff_rc = ff.wait()
        for fh in (log, truth):
            if fh:
                fh.close()
    if rc or (ff_rc and stop["why"] is None):
        print(f"ffmpeg stopped (exit {ff_rc}) after {n / a.fps:.1f} s. Is the service running and taking RTMP at "
              f"{target(a)}? (npm start)", file=sys.stderr)
        return 1
    print(f"stopped after {n / a.fps:.1f} s of media ({stop['why'] or 'done'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
