"""Training loop for AVIN (CPU or CUDA), with checkpoints, resume, a log and the seed recorded.

Python API (for corpus/training helpers):
    from avloc_toolkit.config import make_config
    from avloc_toolkit.data import AVManifestDataset
    from avloc_toolkit.train import train
    cfg = make_config("small")
    ds = AVManifestDataset("corpus/train", cfg, "train")          # or any Dataset yielding
    val = AVManifestDataset("corpus/val", cfg, "eval")            # {"image", "waveform"[, "gt"]}
    summary = train(cfg, ds, "runs/small", epochs=10, batch_size=16, val_ds=val)

CLI:
    python3 -m avloc_toolkit.train --data DIR --out runs/NAME [--preset small] [--epochs N]
        [--batch-size B] [--val DIR] [--resume] [--device auto|cpu|cuda] [--seed S]
        [--unfreeze-audio] [--init-visual resnet18.pth] [--init-audio PANNs.pth] [--init-official ckpt.pth]

Out dir: last.pt (every epoch), best.pt (best val cIoU@0.5), config.json, train.log, log.jsonl.
A checkpoint is a dict {model, optimizer, config, epoch, step, seed, rng, data, commit, args}.
The objective is the official one (losses.avin_losses: contrastive + distance), optimiser Adam
with v_encoder at 1e-5 and v_proj / a_proj at 1e-4, weight decay 1e-4 (official main.py).
The official recipe freezes the PANNs-pretrained audio encoder; without PANNs weights (synthetic
corpora) pass --unfreeze-audio so the audio encoder trains too (lr = --lr-visual).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .config import AVINConfig, PRESETS, make_config
from .export import git_commit
from .model import AVIN, create_optimizer
from .utils import pick_device, seed_everything


class _Log:
    def __init__(self, out_dir: str, echo: bool = True):
        self.txt = open(os.path.join(out_dir, "train.log"), "a")
        self.jsonl = open(os.path.join(out_dir, "log.jsonl"), "a")
        self.echo = echo

    def __call__(self, msg: str, **rec: Any) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        self.txt.write(line + "\n")
        self.txt.flush()
        if rec:
            self.jsonl.write(json.dumps({"time": time.time(), **rec}) + "\n")
            self.jsonl.flush()
        if self.echo:
            print(line, flush=True)

    def close(self) -> None:
        self.txt.close()
        self.jsonl.close()


def load_init_weights(model: AVIN, visual: Optional[str] = None, audio: Optional[str] = None,
                      official: Optional[str] = None) -> None:
    """ImageNet ResNet-18 (torchvision layout, fc dropped), PANNs ResNet22, or an official AVIN ckpt."""
    if official:
        from .convert import official_to_toolkit_state
        model.load_state_dict(official_to_toolkit_state(torch.load(official, map_location="cpu")))
    if visual:
        sd = torch.load(visual, map_location="cpu")
        sd = {k: v for k, v in sd.items() if not k.startswith("fc.")}
        model.v_encoder.load_state_dict(sd, strict=True)
    if audio:
        sd = torch.load(audio, map_location="cpu")
        sd = sd.get("model", sd)
        model.a_encoder.load_state_dict(sd, strict=True)


def _evaluate(model: AVIN, val_ds: Dataset, device: torch.device, batch_size: int) -> Dict[str, Any]:
    from .metrics import metrics_from_heatmaps
    from .model import heatmap
    model.eval()
    heats, gts = [], []
    with torch.no_grad():
        for b in DataLoader(val_ds, batch_size=batch_size, shuffle=False):
            keep = b["has_boxes"] if "has_boxes" in b else torch.ones(len(b["image"]), dtype=torch.bool)
            if not bool(keep.any()):
                continue
            f = model.features(b["image"][keep].to(device))
            e = model.embedding(b["waveform"][keep].to(device))
            heats.append(heatmap(f, e).cpu())
            gts.append(b["gt"][keep])
    if not heats:
        return {}
    r = metrics_from_heatmaps(torch.cat(heats), torch.cat(gts), "avin")
    return {k: r[k] for k in ("n", "ciou@0.5", "auc", "nsa", "mean_ciou")}


def train(cfg: AVINConfig, train_ds: Dataset, out_dir: str, *, epochs: int = 1, batch_size: int = 8,
          lr_visual: float = 1e-5, lr_proj: float = 1e-4, weight_decay: float = 1e-4, seed: int = 0,
          device: str = "auto", val_ds: Optional[Dataset] = None, resume: bool = False,
          log_every: int = 10, workers: int = 0, max_steps: Optional[int] = None,
          freeze_audio: bool = True, init: Optional[Dict[str, str]] = None, data_desc: str = "",
          num_threads: int = 2, echo: bool = True) -> Dict[str, Any]:
    """Trains and returns a summary dict. Resumes from out_dir/last.pt when resume=True."""
    torch.set_num_threads(num_threads)
    os.makedirs(out_dir, exist_ok=True)
    dev = pick_device(device)
    log = _Log(out_dir, echo)
    seed_everything(seed)
    model = AVIN(cfg, freeze_audio=freeze_audio)
    if init:
        load_init_weights(model, init.get("visual"), init.get("audio"), init.get("official"))
    model.to(dev)
    opt = create_optimizer(model, lr_visual, lr_proj, weight_decay)
    start_epoch, step, best = 1, 0, -1.0
    last = os.path.join(out_dir, "last.pt")
    if resume and os.path.exists(last):
        ck = torch.load(last, map_location=dev)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start_epoch, step, best = ck["epoch"] + 1, ck["step"], ck.get("best", -1.0)
        seed = ck["seed"]
        log(f"resumed from {last} at epoch {ck['epoch']} step {step}", event="resume", epoch=ck["epoch"], step=step)
    run_args = dict(epochs=epochs, batch_size=batch_size, lr_visual=lr_visual, lr_proj=lr_proj,
                    weight_decay=weight_decay, seed=seed, device=str(dev), freeze_audio=freeze_audio,
                    init=init or {}, data=data_desc, max_steps=max_steps)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump({"config": cfg.to_dict(), "args": run_args, "commit": git_commit()}, f, indent=2)
    if len(train_ds) < max(batch_size, 2):
        raise ValueError(f"training set has {len(train_ds)} items; need at least batch_size={batch_size} (>= 2)")
    log(f"train: {len(train_ds)} items, device {dev}, seed {seed}, config {json.dumps(cfg.to_dict())}",
        event="start", n=len(train_ds), device=str(dev), seed=seed, args=run_args)

    def save(path: str, epoch: int, extra: Dict[str, Any]) -> None:
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "config": cfg.to_dict(),
                    "epoch": epoch, "step": step, "seed": seed, "best": best, "data": data_desc,
                    "commit": git_commit(), "args": run_args, **extra}, path + ".tmp")
        os.replace(path + ".tmp", path)

    summary: Dict[str, Any] = {"out": out_dir, "seed": seed, "device": str(dev)}
    done = False
    for epoch in range(start_epoch, epochs + 1):
        # reproducible order and augmentation per epoch (so resume at an epoch boundary replays exactly)
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        if hasattr(train_ds, "rng"):
            train_ds.rng.seed(seed * 1000 + epoch)
        loader = DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=g, drop_last=True,
                            num_workers=workers, pin_memory=dev.type == "cuda",
                            worker_init_fn=(lambda w: train_ds.rng.seed(seed * 1000 + epoch * 100 + w))
                            if hasattr(train_ds, "rng") and workers > 0 else None)
        model.train()
        t0, sums, n = time.time(), np.zeros(3), 0
        for b in loader:
            img = b["image"].to(dev, non_blocking=True)
            wav = b["waveform"].to(dev, non_blocking=True)
            opt.zero_grad()
            l_con, l_dist = model(img, wav, mode="train")
            loss = l_con + l_dist
            loss.backward()
            opt.step()
            step += 1
            n += 1
            sums += [float(loss), float(l_con), float(l_dist)]
            if step % log_every == 0:
                log(f"epoch {epoch} step {step} loss {float(loss):.4f} (contrastive {float(l_con):.4f}, "
                    f"distance {float(l_dist):.4f})", event="step", epoch=epoch, step=step, loss=float(loss),
                    contrastive=float(l_con), distance=float(l_dist))
            if max_steps and step >= max_steps:
                done = True
                break
        avg = (sums / max(n, 1)).tolist()
        rec = {"epoch": epoch, "step": step, "loss": avg[0], "contrastive": avg[1], "distance": avg[2],
               "seconds": time.time() - t0}
        if val_ds is not None and len(val_ds):
            m = _evaluate(model, val_ds, dev, batch_size)
            rec["val"] = m
            if m and m["ciou@0.5"] > best:
                best = m["ciou@0.5"]
                save(os.path.join(out_dir, "best.pt"), epoch, {"val": m})
        save(last, epoch, {"val": rec.get("val")})
        log(f"epoch {epoch} done: loss {avg[0]:.4f} ({rec['seconds']:.1f} s)"
            + (f", val {json.dumps(rec['val'])}" if "val" in rec else ""), event="epoch", **rec)
        summary.update(last_epoch=rec)
        if done:
            break
    summary.update(step=step, best_ciou=best, checkpoint=last)
    log.close()
    return summary


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Train AVIN on a manifest folder")
    p.add_argument("--data", required=True, help="folder with manifest.jsonl (training items)")
    p.add_argument("--val", help="folder with manifest.jsonl (items with boxes) evaluated each epoch")
    p.add_argument("--out", required=True, help="run folder (checkpoints, logs)")
    p.add_argument("--preset", default="avin-rn", choices=sorted(PRESETS))
    p.add_argument("--image-size", type=int)
    p.add_argument("--sample-rate", type=int)
    p.add_argument("--window-seconds", type=float)
    p.add_argument("--embed-dim", type=int)
    p.add_argument("--tp", type=float)
    p.add_argument("--tn", type=float)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr-visual", type=float, default=1e-5)
    p.add_argument("--lr-proj", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if present")
    p.add_argument("--unfreeze-audio", action="store_true", help="train the audio encoder too")
    p.add_argument("--init-visual", help="torchvision ResNet-18 state_dict (.pth)")
    p.add_argument("--init-audio", help="PANNs ResNet22 checkpoint (.pth)")
    p.add_argument("--init-official", help="official AVIN-RN checkpoint (.pth)")
    a = p.parse_args(argv)
    cfg = make_config(a.preset, image_size=a.image_size, sample_rate=a.sample_rate,
                      window_seconds=a.window_seconds, embed_dim=a.embed_dim, tp=a.tp, tn=a.tn)
    from .data import AVManifestDataset
    ds = AVManifestDataset(a.data, cfg, "train", seed=a.seed)
    val = AVManifestDataset(a.val, cfg, "eval") if a.val else None
    init = {k: v for k, v in (("visual", a.init_visual), ("audio", a.init_audio), ("official", a.init_official)) if v}
    s = train(cfg, ds, a.out, epochs=a.epochs, batch_size=a.batch_size, lr_visual=a.lr_visual, lr_proj=a.lr_proj,
              weight_decay=a.weight_decay, seed=a.seed, device=a.device, val_ds=val, resume=a.resume,
              log_every=a.log_every, workers=a.workers, max_steps=a.max_steps, freeze_audio=not a.unfreeze_audio,
              init=init or None, data_desc=os.path.abspath(a.data), num_threads=a.threads)
    print(json.dumps(s, indent=2, default=str))


if __name__ == "__main__":
    main()
