"""Does the overlay follow the sound? Scores heatmap peaks against the demo's per-frame truth:

  python3 -m avloc_demo.stream --truth truth.jsonl &          # (or npm run demo -- --truth ...)
  node --import tsx src/cli.ts watch --stream demo --json > maps.jsonl
  python3 -m avloc_demo.score truth.jsonl maps.jsonl

A heatmap counts as a hit when its peak lies in the sounding object's box at the same pts. Frames
less than --settle s after a switch are left out: the model's audio window ends at the frame, so
for a while it still holds mostly the previous object's sound. Chance is the mean share of the
frame that the sounding box covers (a peak thrown at random).
"""
from __future__ import annotations

import argparse
import json
from bisect import bisect_left


def inside(x: float, y: float, box) -> bool:
    return box[0] <= x < box[2] and box[1] <= y < box[3]


def pts_offset(truth: list, maps: list) -> float:
    """The service's pts run a constant few ms off the generator's (the stream's start is the
    earlier of audio and video, and AAC starts with priming): the median offset modulo a frame."""
    period = truth[1]["ptsMs"] - truth[0]["ptsMs"]
    offs = sorted((m["ptsMs"] - truth[0]["ptsMs"] + period / 2) % period - period / 2 for m in maps)
    return offs[len(offs) // 2] if offs else 0.0


def score(truth: list, maps: list, settle_ms: float) -> dict:
    pts = [t["ptsMs"] for t in truth]
    off = pts_offset(truth, maps)
    tol_ms = (pts[1] - pts[0]) / 3
    hit = other = n = 0
    chance = 0.0
    for m in maps:
        p = m["ptsMs"] - off
        i = bisect_left(pts, p)
        near = min((j for j in (i - 1, i) if 0 <= j < len(pts)), key=lambda j: abs(pts[j] - p), default=None)
        if near is None or abs(pts[near] - p) > tol_ms:
            continue
        t = truth[near]
        if t["sinceSwitchMs"] < settle_ms:
            continue
        W, H = t["size"]
        x, y = m["peak"]["u"] * W, m["peak"]["v"] * H
        boxes = t["boxes"]
        n += 1
        hit += inside(x, y, boxes[t["sounding"]])
        other += any(inside(x, y, b) for k, b in enumerate(boxes) if k != t["sounding"])
        b = boxes[t["sounding"]]
        chance += (b[2] - b[0]) * (b[3] - b[1]) / (W * H)
    return {"heatmaps": n, "pts_offset_ms": round(off, 1), "hit": hit / n if n else None, "on_a_silent_object": other / n if n else None,
            "chance": chance / n if n else None}


def read_jsonl(path: str) -> list:
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.startswith("{")]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("truth")
    p.add_argument("maps", help="`avloc watch --json` output")
    p.add_argument("--stream", default="demo")
    p.add_argument("--settle", type=float, default=1.0, help="seconds after a switch left out")
    a = p.parse_args(argv)
    maps = [m for m in read_jsonl(a.maps) if m.get("streamId") == a.stream]
    print(json.dumps(score(read_jsonl(a.truth), maps, 1000 * a.settle)))


if __name__ == "__main__":
    main()
