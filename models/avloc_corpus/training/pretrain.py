"""Encoder pretraining on training assets only (stand-in for ImageNet ResNet-18 / AudioSet PANNs).

No pretrained weights can be downloaded here, so, in the spirit of the paper's recipe, the visual
ResNet is trained to classify single objects pasted on training backgrounds (plus a "background"
class: scenery alone), with colour/contrast/grayscale jitter, keeping the epoch that best classifies
val-split pictures it never saw; the audio ResNet22 to classify single training sounds (random
excerpts, speed 0.8-1.25x, spectral tilt, gain, noise), keeping the epoch that best classifies
val-split recordings. Only train-split assets of the seen categories are trained on; scene boxes
and scene labels are never seen. `--max-objects 3` (the shipped recipe's second visual stage) pastes
0-3 objects and trains on multi-hot image-level tags instead.

  python3 -m avloc_corpus.training.pretrain --out .cache/runs/pretrain --seed 0

Writes visual.pth (VisualResNet state_dict, torchvision layout) and audio.pth (ResNet22 state_dict),
the two files `avloc_toolkit.train.load_init_weights` accepts, plus pretrain.json (accuracy, time).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.signal import lfilter, resample_poly

from avloc_toolkit.config import make_config
from avloc_toolkit.audio import ResNet22
from avloc_toolkit.imagenet import IMAGENET_MEAN, IMAGENET_STD
from avloc_toolkit.visual import VisualResNet

from ..scenes import compose
from ..scenes.generate import in_chunks
from ..scenes.pools import split_pools


BACKGROUND = "background"


def make_visual_set(pool, bgs, n: int, size: int, rng: random.Random, cats=None, max_objects: int = 1):
    """n uint8 images [n,S,S,3] on background crops. max_objects 1: one object labelled with its
    category, or (one image in len(cats)+1) the background alone, labelled "background" — so the
    encoder learns that scenery is not an object, which is what an ImageNet encoder brings to AVIN.
    max_objects > 1: 0..max_objects objects of different categories and a multi-hot label of the
    categories present (image-level tags, never where they are), which teaches the pooled features
    to keep objects apart the way the scenes need."""
    cats = cats or sorted(c for c, v in pool.items() if v["pictures"]) + [BACKGROUND]
    present = [i for i, c in enumerate(cats) if c != BACKGROUND and pool.get(c, {}).get("pictures")]
    xs, ys = [], []
    for _ in range(n):
        if max_objects == 1:
            k = 0 if rng.random() < 1 / (len(present) + 1) else 1
        else:
            k = rng.choices(range(max_objects + 1), weights=[1] + [2] * max_objects)[0]
        chosen = rng.sample(present, k)
        canvas = compose.background_crop(rng.choice(bgs)[1], size, rng)
        if chosen:
            compose.place_objects(canvas, [rng.choice(pool[cats[c]]["pictures"])[1] for c in chosen], rng)
        xs.append(torch.from_numpy(np.asarray(canvas.convert("RGB")).copy()))
        if max_objects == 1:
            ys.append(chosen[0] if chosen else cats.index(BACKGROUND))
        else:
            y = torch.zeros(len(cats))
            y[chosen or [cats.index(BACKGROUND)]] = 1.0
            ys.append(y)
    return torch.stack(xs), (torch.tensor(ys) if max_objects == 1 else torch.stack(ys)), cats


def jitter(u8: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """uint8 NHWC -> normalised NCHW with random flip, brightness, contrast, saturation and
    grayscale per image: picture style (colour, line weight) must not be the category.
    The random draws come from the CPU generator g (replayable) wherever the batch lives."""
    x = u8.permute(0, 3, 1, 2).float() / 255.0
    B, dev = len(x), x.device
    flip = (torch.rand(B, generator=g) < 0.5).to(dev)
    x = torch.where(flip.view(B, 1, 1, 1), x.flip(3), x)
    gray = x.mean(1, keepdim=True)
    sat = (torch.rand(B, 1, 1, 1, generator=g) * 1.2 + 0.2)
    sat[torch.rand(B, generator=g) < 0.15] = 0.0
    x = gray + (x - gray) * sat.to(dev)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = mean + (x - mean) * (torch.rand(B, 1, 1, 1, generator=g) * 0.8 + 0.6).to(dev)
    x = x * (torch.rand(B, 1, 1, 1, generator=g) * 0.6 + 0.7).to(dev)
    return normalize_batch(x.clamp(0, 1))


def normalize_batch(x01: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, device=x01.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x01.device).view(1, 3, 1, 1)
    return (x01 - mean) / std


def perturb_sound(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """Speed (pitch and tempo together, 0.8-1.25x) and a random spectral tilt: with a few
    recordings per category, the encoder must not learn one recording's pitch or colour."""
    up, down = rng.choice([(4, 5), (5, 6), (9, 10), (1, 1), (10, 9), (6, 5), (5, 4)])
    if up != down:
        x = resample_poly(x, up, down).astype(np.float32)
    a = rng.uniform(-0.6, 0.6)   # one-pole tilt: > 0 brighter, < 0 darker
    y = lfilter([1.0, -a], [1.0], x) if a > 0 else lfilter([1.0 + a], [1.0, a], x)
    return (y / (np.abs(y).max() + 1e-8) * 0.9).astype(np.float32)


def room(x: np.ndarray, rng: random.Random, sample_rate: int) -> np.ndarray:
    """A room's reverb: convolution with exponentially decaying noise (RT60 0.2-0.9 s) mixed
    under the dry sound, as a phone or laptop microphone across a room hears it."""
    rt60 = rng.uniform(0.2, 0.9)
    t = np.arange(int(rt60 * sample_rate)) / sample_rate
    ir = np.random.default_rng(rng.randint(0, 2 ** 31)).standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    wet = np.convolve(x, ir.astype(np.float32))[:len(x)]
    wet *= np.sqrt(np.mean(x ** 2)) / (np.sqrt(np.mean(wet ** 2)) + 1e-8)
    y = x + wet * rng.uniform(0.3, 1.0)
    return (y / (np.abs(y).max() + 1e-8) * 0.9).astype(np.float32)


def make_audio_set(pool, n: int, n_samples: int, rng: random.Random, cats=None, augment=False,
                   sample_rate: int = 16000):
    """n labelled excerpts. augment: speed and tilt (perturb_sound), a room's reverb for one in
    three, and for one in three a quieter sound of another category under it (-18..-10 dB, the
    label stays the louder one's): what real microphones pick up beside the source."""
    cats = cats or sorted(c for c, v in pool.items() if v["sounds"])
    present = [i for i, c in enumerate(cats) if pool.get(c, {}).get("sounds")]
    xs, ys = [], []
    for _ in range(n):
        c = rng.choice(present)
        snd = rng.choice(pool[cats[c]]["sounds"])[1]
        other = None
        if augment:
            snd = perturb_sound(snd, rng)
            if rng.random() < 1 / 3:
                snd = room(snd, rng, sample_rate)
            if rng.random() < 1 / 3 and len(present) > 1:
                o = rng.choice([k for k in present if k != c])
                other = rng.choice(pool[cats[o]]["sounds"])[1]
        w, _ = compose.mix_audio(snd, n_samples, rng, other)
        xs.append(torch.from_numpy(w))
        ys.append(c)
    return torch.stack(xs), torch.tensor(ys), cats


class Classifier(nn.Module):
    def __init__(self, encoder: nn.Module, dim: int, n_cls: int, pool: bool):
        super().__init__()
        self.encoder, self.pool = encoder, pool
        self.head = nn.Linear(dim, n_cls)

    def forward(self, x):
        f = self.encoder(x)
        if self.pool:
            f = f.mean((2, 3))
        return self.head(f)


def fit(model, x, y, xv, yv, epochs: int, bs: int, lr: float, log, name: str, save, prep=None,
        device: str = "cpu"):
    """Trains and returns (best, last) held-out accuracy. save = (module, path): the module's
    weights are written there after every epoch that beats the best held-out accuracy so far.
    prep(batch, generator) turns stored inputs into model inputs (augmentation). Batches are
    moved to `device` one at a time, so the sets stay in host memory."""
    prep = prep or (lambda b, g: b)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(x) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    g = torch.Generator().manual_seed(0)
    best, acc = -1.0, -1.0
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        t0, tot, n = time.time(), 0.0, 0
        for i in range(0, len(x) - bs + 1, bs):
            idx = perm[i:i + bs]
            yb = y[idx].to(device)
            logits = model(prep(x[idx].to(device), g))
            loss = (F.binary_cross_entropy_with_logits(logits, yb) * logits.shape[1] if y.is_floating_point()
                    else F.cross_entropy(logits, yb, ignore_index=-100))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot, n = tot + float(loss), n + 1
        acc = accuracy(model, xv, yv, bs, prep, device)
        log(f"{name} epoch {ep + 1}/{epochs} loss {tot / n:.3f} held-out acc {acc:.3f} ({time.time() - t0:.0f} s)")
        if acc > best:
            best = acc
            torch.save({k: v.cpu() for k, v in save[0].state_dict().items()}, save[1])
    return best, acc


def accuracy(model, x, y, bs, prep=None, device: str = "cpu"):
    model.eval()
    ok = n = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            keep = y[i:i + bs] >= 0
            xb = x[i:i + bs].to(device)
            if prep is not None and xb.dtype == torch.uint8:
                xb = normalize_batch(xb.permute(0, 3, 1, 2).float() / 255.0)
            p = model(xb).argmax(1).cpu()
            ok += int(((p == y[i:i + bs]) & keep).sum())
            n += int(keep.sum())
    return ok / max(n, 1)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--audio-seconds", type=float, default=1.0,
                   help="excerpt length for audio pretraining (the encoder pools over time, so short is cheap)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (decides the asset splits)")
    p.add_argument("--n-visual", type=int, default=3000)
    p.add_argument("--n-audio", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", choices=["visual", "audio"], help="pretrain one encoder (run two processes in parallel)")
    p.add_argument("--max-objects", type=int, default=1,
                   help="visual: up to this many objects per image with multi-hot image-level labels (1: single-label)")
    p.add_argument("--init-visual", help="continue from this visual.pth (a second stage with new images)")
    p.add_argument("--tag", default="", help="names a further stage: new random images, pretrain-<only>-<tag>.json")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--workers", type=int, default=1,
                   help="compose the training set in this many processes, in chunks seeded by their index "
                        "(1: one sequential stream, as the shipped recipe was made)")
    p.add_argument("--pack", help="read the split asset pools from this pack (scenes/pack.py) instead of the packages")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    cfg = make_config("corpus-scratch")
    logf = open(os.path.join(a.out, "pretrain.log"), "a")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    t0 = time.time()
    pools, bgs = split_pools(a.seed, cfg.sample_rate, a.pack)
    # the visual stage draws first from "pretrain:SEED" whether run alone or with the audio stage
    rng = random.Random((f"pretrain:{a.seed}" if a.only != "audio" else f"pretrain:{a.seed}:audio") + a.tag)
    info = {"config": cfg.to_dict(), "seed": a.seed, "n_visual": a.n_visual, "n_audio": a.n_audio,
            "epochs": a.epochs, "audio_seconds": a.audio_seconds, "batch_size": a.batch_size, "lr": a.lr,
            "device": a.device, "workers": a.workers, "pack": a.pack}
    if a.only != "audio":
        info.update(pretrain_visual(a, cfg, pools, bgs, rng, log))
    if a.only != "visual":
        info.update(pretrain_audio(a, cfg, pools, rng, log))
    info["seconds"] = round(time.time() - t0)
    name = (f"pretrain-{a.only}" if a.only else "pretrain") + (f"-{a.tag}" if a.tag else "") + ".json"
    with open(os.path.join(a.out, name), "w") as f:
        json.dump(info, f, indent=1)
    log(f"done: {json.dumps({k: v for k, v in info.items() if 'acc' in k or k == 'seconds'})}")


def training_set(make, n: int, rng: random.Random, a, tag: str):
    """make(n, rng) -> (x, y) tensors: one sequential stream, or chunks composed by a.workers processes."""
    if a.workers <= 1:
        return make(n, rng)
    parts = in_chunks(lambda k, r: dict(zip("xy", (t.numpy() for t in make(k, r)))), n,
                      f"pretrain:{a.seed}:{tag}{a.tag}", a.workers)
    return torch.from_numpy(parts["x"]), torch.from_numpy(parts["y"])


def pretrain_visual(a, cfg, pools, bgs, rng, log) -> dict:
    t0 = time.time()
    vcats = sorted(c for c, v in pools["train"].items() if v["pictures"]) + [BACKGROUND]
    xv, yv = training_set(lambda n, r: make_visual_set(pools["train"], bgs["train"], n, cfg.image_size, r,
                                                       vcats, a.max_objects)[:2], a.n_visual, rng, a, "visual")
    # held out: val-split pictures on val-split backgrounds (never in a training scene), for the
    # categories that have val pictures — this measures generalisation to unseen drawings
    xh, yh, _ = make_visual_set(pools["val"], bgs["val"], 600, cfg.image_size, rng, vcats)
    log(f"visual set {tuple(xv.shape)} over {len(vcats)} classes, held-out {len(xh)} ({time.time() - t0:.0f} s)")
    venc = VisualResNet(cfg.visual_widths, cfg.visual_blocks, cfg.visual_strides)
    if a.init_visual:
        venc.load_state_dict(torch.load(a.init_visual))
    best, last = fit(Classifier(venc, venc.out_channels, len(vcats), True), xv, yv, xh, yh,
                     a.epochs, a.batch_size, a.lr, log, "visual", save=(venc, os.path.join(a.out, "visual.pth")),
                     prep=jitter, device=a.device)
    return {"visual_categories": vcats, "visual_acc_heldout_best": best, "visual_acc_heldout_last": last,
            "visual_heldout": "val-split pictures on val-split backgrounds", "visual_init": a.init_visual,
            "visual_max_objects": a.max_objects}


def pretrain_audio(a, cfg, pools, rng, log) -> dict:
    t0 = time.time()
    acats = sorted(c for c, v in pools["train"].items() if v["sounds"])
    xa, ya = training_set(lambda n, r: make_audio_set(pools["train"], n, int(a.audio_seconds * cfg.sample_rate), r,
                                                      acats, augment=True, sample_rate=cfg.sample_rate)[:2], a.n_audio, rng, a, "audio")
    # held out: val-split recordings and renders (never in a training scene)
    xav, yav, _ = make_audio_set(pools["val"], 400, int(a.audio_seconds * cfg.sample_rate), rng, acats)
    log(f"audio set {tuple(xa.shape)} over {len(acats)} classes, held-out {len(xav)} ({time.time() - t0:.0f} s)")
    aenc = ResNet22(cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels, cfg.fmin, cfg.fmax,
                    cfg.audio_widths, cfg.audio_blocks, cfg.audio_embed)
    for prm in list(aenc.spectrogram_extractor.parameters()) + [aenc.logmel_extractor.melW]:
        prm.requires_grad = False
    best, last = fit(Classifier(aenc, cfg.audio_embed, len(acats), False), xa, ya, xav, yav,
                     a.epochs, a.batch_size, a.lr, log, "audio", save=(aenc, os.path.join(a.out, "audio.pth")),
                     device=a.device)
    return {"audio_categories": acats, "audio_acc_heldout_best": best, "audio_acc_heldout_last": last,
            "audio_heldout": "val-split recordings and renders"}


if __name__ == "__main__":
    main()
