"""The demo's sound: a loop of segments, each the recording(s) of one object's category.

The loop is rendered once (a few MB at 16 kHz) and played modulo its length; the segment in which
media time t falls says which object sounds. Segments are cut and levelled by the corpus' own
`compose.mix_audio` (short sounds repeat with small gaps, -24..-14 dBFS RMS, sometimes light noise),
so the demo sounds like the scenes the model was trained on.
"""
from __future__ import annotations

import random
from typing import List, Sequence

import numpy as np

from avloc_corpus.scenes import compose

FADE_S = 0.05   # short fades: no click at a switch, and the switch stays sharp in time


def make_schedule(n_objects: int, n_segments: int, rng: random.Random) -> List[int]:
    """Which object sounds in each segment: the least used so far among those allowed, where two
    neighbours — the last and first included, since the loop repeats — are never the same (only
    unavoidable with 2 objects and an odd number of segments)."""
    order: List[int] = []
    used = [0] * n_objects
    for k in range(n_segments):
        banned = {order[-1]} if order else set()
        if k == n_segments - 1 and k > 0:
            banned.add(order[0])
        cands = ([i for i in range(n_objects) if i not in banned]
                 or [i for i in range(n_objects) if i != order[-1]] or list(range(n_objects)))
        least = min(used[i] for i in cands)
        pick = rng.choice([i for i in cands if used[i] == least])
        order.append(pick)
        used[pick] += 1
    return order


def render_loop(sounds: Sequence[Sequence[np.ndarray]], schedule: Sequence[int], segment_s: float,
                rate: int, rng: random.Random) -> np.ndarray:
    """float32 mono of len(schedule) * segment_s seconds. sounds[i]: object i's recordings, used in turn."""
    seg = int(round(segment_s * rate))
    fade_n = max(1, int(FADE_S * rate))
    ramp = np.ones(seg, dtype=np.float32)
    ramp[:fade_n] = np.linspace(0, 1, fade_n)
    ramp[-fade_n:] = np.linspace(1, 0, fade_n)
    used = [0] * len(sounds)
    out = np.zeros(seg * len(schedule), dtype=np.float32)
    for k, who in enumerate(schedule):
        rec = sounds[who][used[who] % len(sounds[who])]
        used[who] += 1
        clip, _ = compose.mix_audio(rec, seg, rng)
        out[k * seg:(k + 1) * seg] = clip * ramp
    return out


class Soundtrack:
    def __init__(self, loop: np.ndarray, schedule: Sequence[int], segment_s: float, rate: int):
        self.pcm = (np.clip(loop, -1, 1) * 32767).astype("<i2")
        self.schedule = list(schedule)
        self.segment_s = segment_s
        self.rate = rate
        self.segment_n = int(round(segment_s * rate))
        self.period_s = len(self.pcm) / rate

    def segment(self, sample: int) -> int:
        """Index of the segment (counted from the start, not modulo the loop) holding this sample.
        Integer samples, not float seconds: a frame exactly on a switch must not land either side
        by rounding."""
        return sample // self.segment_n

    def sounding(self, sample: int) -> int:
        return self.schedule[self.segment(sample) % len(self.schedule)]

    def chunk(self, start: int, stop: int) -> bytes:
        """s16le samples [start, stop) of the endless loop."""
        n = len(self.pcm)
        idx = np.arange(start, stop) % n
        return self.pcm[idx].tobytes()
