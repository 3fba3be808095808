"""Seeded MIDI phrases and their rendering with fluidsynth.

Why batch: every fluidsynth call reloads the (up to 148 MB) soundfont, so all phrases that use one
soundfont go into one MIDI file, each in its own time slot, and the render is cut afterwards.
"""
from __future__ import annotations

import os
import random
import struct
import subprocess
import tempfile
from typing import Dict, List, Tuple

import numpy as np

TICKS = 480            # per quarter note; tempo 500000 us -> 1 tick = 1/960 s
SLOT_S = 5.0           # each phrase owns a 5 s slot: 4 s of sound and 1 s of release
PHRASE_S = 4.0


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _phrase_events(spec: Dict, t0: float) -> List[Tuple[float, bytes]]:
    """Notes of one asset: a seeded melody, a drum groove, or a held effect sound."""
    rng = random.Random(f"{spec['font']}:{spec['bank']}:{spec['program']}:{spec['phrase']}")
    ev: List[Tuple[float, bytes]] = []
    if spec["drums"]:
        ch = 9
        step = rng.uniform(0.18, 0.3)
        kick, snare, hat = 36, rng.choice([38, 40]), rng.choice([42, 44, 46])
        t, i = 0.0, 0
        while t < PHRASE_S - 0.3:
            notes = [hat]
            if i % 4 == 0 or (i % 8 == 6 and rng.random() < 0.5):
                notes.append(kick)
            if i % 4 == 2:
                notes.append(snare)
            if rng.random() < 0.08:
                notes.append(rng.choice([45, 47, 49, 51]))
            for n in notes:
                ev.append((t0 + t, bytes([0x99, n, rng.randint(80, 120)])))
                ev.append((t0 + t + 0.1, bytes([0x89, n, 0])))
            t += step
            i += 1
        return ev
    ch = 0
    ev.append((t0, bytes([0xB0 | ch, 0, spec["bank"]])))
    ev.append((t0, bytes([0xC0 | ch, spec["program"]])))
    if spec["program"] >= 120:       # effects: a few long held notes
        t = 0.0
        while t < PHRASE_S - 0.5:
            dur = rng.uniform(1.0, 2.5)
            n = rng.randint(55, 72)
            ev.append((t0 + t + 0.01, bytes([0x90 | ch, n, 110])))
            ev.append((t0 + min(t + dur, PHRASE_S), bytes([0x80 | ch, n, 0])))
            t += dur + rng.uniform(0.0, 0.3)
        return ev
    lo, hi = {0: (48, 84), 24: (45, 76), 25: (45, 76), 40: (55, 88), 56: (55, 82), 65: (49, 80)}.get(
        spec["program"], (48, 80))
    t, note = 0.0, rng.randint(lo + 6, hi - 6)
    while t < PHRASE_S - 0.2:
        dur = rng.choice([0.25, 0.375, 0.5, 0.75])
        note = min(hi, max(lo, note + rng.choice([-5, -3, -2, -1, 1, 2, 3, 4, 7])))
        chord = [note] + ([note - rng.choice([3, 4, 5])] if spec["program"] in (0, 24, 25) and rng.random() < 0.4 else [])
        for n in chord:
            ev.append((t0 + t + 0.01, bytes([0x90 | ch, n, rng.randint(80, 115)])))
            ev.append((t0 + t + dur * 0.95, bytes([0x80 | ch, n, 0])))
        t += dur
    return ev


def _midi_file(events: List[Tuple[float, bytes]]) -> bytes:
    events = sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80))
    track, last = b"\x00\xFF\x51\x03\x07\xA1\x20", 0     # tempo 500000 us per quarter
    for t, msg in events:
        tick = int(round(t * TICKS * 2))
        track += _vlq(max(0, tick - last)) + msg
        last = max(last, tick)
    track += _vlq(TICKS * 4) + b"\xFF\x2F\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS) + b"MTrk" + struct.pack(">I", len(track)) + track


def render_all(specs: List[Dict], font_path, rate: int, cache: str) -> Dict[str, np.ndarray]:
    """Render every spec; returns {ref: mono float32 waveform}. Cached per soundfont as .npy."""
    import soundfile as sf   # here, not at the top: a machine composing from a pack (scenes/pack.py) may lack it
    out: Dict[str, np.ndarray] = {}
    by_font: Dict[str, List[Dict]] = {}
    for s in specs:
        by_font.setdefault(s["font"], []).append(s)
    os.makedirs(cache, exist_ok=True)
    for font, group in sorted(by_font.items()):
        group = sorted(group, key=lambda s: s["ref"])
        key = os.path.join(cache, f"render-{font}-{rate}-{len(group)}.npz")
        if not os.path.exists(key):
            events = []
            for i, s in enumerate(group):
                events += _phrase_events(s, i * SLOT_S)
            with tempfile.TemporaryDirectory() as tmp:
                mid, wav = os.path.join(tmp, "in.mid"), os.path.join(tmp, "out.wav")
                with open(mid, "wb") as fh:
                    fh.write(_midi_file(events))
                subprocess.run(["fluidsynth", "-ni", "-g", "0.8", "-r", str(rate), "-F", wav,
                                font_path(font), mid], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                audio, _ = sf.read(wav, dtype="float32", always_2d=True)
            audio = audio.mean(axis=1)
            clips = {s["ref"]: audio[int(i * SLOT_S * rate):int((i * SLOT_S + PHRASE_S) * rate)]
                     for i, s in enumerate(group)}
            np.savez(key, **{k.replace(":", "_").replace(".", "_"): v for k, v in clips.items()})
        data = np.load(key)
        for s in group:
            out[s["ref"]] = data[s["ref"].replace(":", "_").replace(".", "_")]
    return out
