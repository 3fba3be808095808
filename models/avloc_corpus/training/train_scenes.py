"""Self-supervised training on corpus scenes (no labels, no boxes): AVIN or the EZ-VSL baseline.

  python3 -m avloc_corpus.training.train_scenes --method avin  --out .cache/runs/avin  --init .cache/runs/pretrain
  python3 -m avloc_corpus.training.train_scenes --method ezvsl --out .cache/runs/ezvsl --init .cache/runs/pretrain
  (add --resume to continue from OUT/last.pt; --minutes caps wall-clock time at an epoch boundary)

Both methods run the same code: the toolkit's AVIN network (visual ResNet + 1x1 projection, audio
ResNet22 + MLP) initialised from the pretraining run, the audio encoder frozen as in the official
recipe (so its outputs for 2 windows per clip are computed once), the same augmentation (random
resized crop + flip), optimiser, batch size, epochs and seed. Only the objective differs.
Writes last.pt / best.pt (toolkit checkpoint format, so avloc_toolkit.export reads them),
log.jsonl, train.log, config.json and curves.png (losses and val cIoU@0.5 / AUC per epoch).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from avloc_toolkit.config import CORPUS_VARIANTS, make_config
from avloc_toolkit.metrics import metrics_from_heatmaps
from avloc_toolkit.export import git_commit
from avloc_toolkit.losses import loss_for
from avloc_toolkit.model import AVIN, centred_features, create_optimizer, heatmap

from ..paths import corpus_dir
from ..scenes import generate
from ..scenes.pools import split_pools
from ..scenes.scene_cache import audio_features, gt_maps, load_split, to_input
from .plot import plot_curves


def augment(u8: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
    """Random crop (75-100 % of the side) + horizontal flip, then resize: the scene-level analogue
    of the official RandomResizedCrop/flip. Boxes are never used, so nothing to transform."""
    S = u8.shape[1]
    out = []
    for img in u8:
        side = int(S * (0.75 + 0.25 * float(torch.rand(1, generator=g))))
        y0 = int(torch.randint(0, S - side + 1, (1,), generator=g))
        x0 = int(torch.randint(0, S - side + 1, (1,), generator=g))
        crop = img[y0:y0 + side, x0:x0 + side]
        if float(torch.rand(1, generator=g)) < 0.5:
            crop = crop.flip(1)
        out.append(to_input(crop[None], size)[0])
    return torch.stack(out)


@torch.no_grad()
def visual_maps(v_encoder, images: torch.Tensor, size: int) -> torch.Tensor:
    """Fixed encoder maps [N, 2, C, h, w] (float16) for the plain and the flipped scene (a
    pretrained trunk's raw maps, before its standardisation)."""
    v_encoder.eval()
    run = getattr(v_encoder, "raw", v_encoder)
    dev = next(v_encoder.parameters()).device
    out = []
    for i in range(0, len(images), 64):
        x = to_input(images[i:i + 64].to(dev), size)
        out.append(torch.stack([run(x), run(x.flip(3))], 1).half())
    return torch.cat(out)


def evaluate(model: AVIN, images: torch.Tensor, afeat: torch.Tensor, gt: torch.Tensor, size: int,
             vmaps: torch.Tensor = None) -> dict:
    """Val metrics; `vmaps` [N, C, h, w]: the frozen encoder's maps of the val images, computed once."""
    model.eval()
    dev = next(model.parameters()).device
    heats = []
    with torch.no_grad():
        for i in range(0, len(images), 64):
            if vmaps is None:
                f = model.features(to_input(images[i:i + 64].to(dev), size))
            else:
                f = centred_features(model.v_proj(vmaps[i:i + 64].to(dev).float()), model.cfg.feature_centering)
            e = F.normalize(model.a_proj(afeat[i:i + 64].to(dev)), dim=1)
            heats.append(heatmap(f, e).cpu())
    r = metrics_from_heatmaps(torch.cat(heats), gt, "avin")
    return {k: r[k] for k in ("n", "ciou@0.5", "auc", "nsa", "mean_ciou")}


def tag_stage(model: AVIN, maps: torch.Tensor, items, epochs: int, bs: int, seed: int, log) -> None:
    """v_proj fitted to image-level tags: a linear classifier on v_proj's cells, max-pooled over the
    cells (multiple-instance: the scene has a dog somewhere), binary cross-entropy per category.
    Boxes are never read; the classifier is dropped afterwards."""
    cats = sorted({o["category"] for it in items for o in it["objects"]})
    y = torch.zeros(len(items), len(cats))
    for n, it in enumerate(items):
        for o in it["objects"]:
            y[n, cats.index(o["category"])] = 1
    head = torch.nn.Conv2d(model.cfg.embed_dim, len(cats), 1)
    opt = torch.optim.Adam(list(model.v_proj.parameters()) + list(head.parameters()), 1e-2)
    for epoch in range(1, epochs + 1):
        g = torch.Generator().manual_seed(seed * 1000 + 500 + epoch)
        perm = torch.randperm(len(items), generator=g)
        tot, k = 0.0, 0
        for i in range(0, len(perm) - bs + 1, bs):
            idx = perm[i:i + bs]
            view = torch.randint(0, maps.shape[1], (len(idx),), generator=g)
            logits = head(model.v_proj(maps[idx, view].float())).flatten(2).max(2).values
            loss = F.binary_cross_entropy_with_logits(logits, y[idx])
            opt.zero_grad(), loss.backward(), opt.step()
            tot, k = tot + float(loss), k + 1
        log(f"tag stage epoch {epoch}/{epochs}: loss {tot / max(k, 1):.4f}", event="tag", epoch=epoch, loss=tot / max(k, 1))


def recompose(pool, bgs, split: str, n: int, corpus_seed: int, rate: int) -> dict:
    """The stored corpus' split again, in memory: same assets, same builder seed, same order (kept
    unencoded, waves as 16-bit PCM), with the sounding boxes as items for the val metrics."""
    make = generate.scene_arrays(pool, bgs, 160, 3.0, rate, 0.3)   # the builder's defaults
    d = make(n, random.Random(f"{corpus_seed}:{split}"))
    return {"images": torch.from_numpy(d["images"]), "waves": torch.from_numpy(d["waves"]),
            "items": [{"boxes": [[int(v) for v in b]]} for b in d["boxes"]]}


def scenes_in_memory(a, cfg):
    """(train, val) composed from the asset pools instead of read from the stored corpus: val is the
    corpus' val split (300) again; train is `a.fresh` new scenes composed in parallel chunks, or
    without --fresh the corpus' train split (6000) again."""
    pools, bgs = split_pools(a.corpus_seed, cfg.sample_rate, a.pack)
    va = recompose(pools["val"], bgs["val"], "val", 300, a.corpus_seed, cfg.sample_rate)
    if not a.fresh:
        return recompose(pools["train"], bgs["train"], "train", 6000, a.corpus_seed, cfg.sample_rate), va
    make = generate.scene_arrays(pools["train"], bgs["train"], 160, 3.0, cfg.sample_rate, 0.3)
    tr = generate.in_chunks(make, a.fresh, f"fresh:{a.corpus_seed}:{a.seed}", a.workers)
    return {"images": torch.from_numpy(tr["images"]), "waves": torch.from_numpy(tr["waves"])}, va


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True, choices=["avin", "ezvsl"])
    p.add_argument("--data", default=corpus_dir())
    p.add_argument("--out", required=True)
    p.add_argument("--init", required=True, help="pretraining run folder (visual.pth, audio.pth)")
    p.add_argument("--variant", default="scratch", choices=list(CORPUS_VARIANTS),
                   help="preset corpus-<variant> (avloc_toolkit/config.py): the ResNet trained from scratch (visual.pth from --init) or the pretrained "
                        "npm trunk (its weights come from the package; --init gives only audio.pth)")
    p.add_argument("--tag-epochs", type=int, default=0,
                   help="with a frozen pretrained trunk: first fit the visual projection to the training scenes' "
                        "image-level tags (multi-hot categories present, never where: max over cells, as "
                        "pretrain.py --max-objects does for the ResNet), this many epochs; the scene stage then trains "
                        "only the audio projection")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr-visual", type=float, default=1e-4)
    p.add_argument("--lr-proj", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--minutes", type=float, default=0, help="stop after the epoch that passes this budget")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--freeze-visual", action="store_true",
                   help="keep the pretrained visual ResNet fixed and train only the two projections (its maps "
                        "for 2 views per scene, plain and flipped, are computed once): thousands of steps in "
                        "minutes on a CPU")
    p.add_argument("--from", dest="from_ckpt",
                   help="start from this scene checkpoint's weights (e.g. a --freeze-visual run's best.pt, so the "
                        "projections are already aligned when the visual ResNet starts to move); new optimiser")
    p.add_argument("--limit", type=int, default=0, help="use only the first N train/val scenes (smoke tests)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--tp", type=float, help="AVIN: fraction of cells above the positive threshold (config default 0.3)")
    p.add_argument("--tn", type=float, help="AVIN: fraction of cells below the negative threshold (config default 0.5)")
    p.add_argument("--centering", type=float, default=0.0,
                   help="feature centering (AVINConfig.feature_centering) of the val heatmaps that pick best.pt, "
                        "as the bundle will use it; training itself is unchanged")
    p.add_argument("--fresh", type=int, default=0,
                   help="train on this many scenes composed now, in memory, from the training assets (scenes/generate.py) "
                        "instead of the stored corpus' train split; val is then the corpus' val split composed "
                        "in memory with the builder's own seed (needs --pack or the unpacked packages)")
    p.add_argument("--pack", help="compose the corpus' train and val splits in memory from this asset pack (scenes/pack.py) "
                                  "instead of reading the stored corpus (a machine without it); with --fresh, the new "
                                  "scenes too")
    p.add_argument("--corpus-seed", type=int, default=0, help="the corpus seed whose asset splits --fresh uses")
    p.add_argument("--workers", type=int, default=1, help="processes composing --fresh scenes")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    random.seed(a.seed), np.random.seed(a.seed), torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    cfg = make_config(f"corpus-{a.variant}")
    cfg.feature_centering = a.centering
    cfg.tp = a.tp if a.tp is not None else cfg.tp
    cfg.tn = a.tn if a.tn is not None else cfg.tn
    logf = open(os.path.join(a.out, "train.log"), "a")
    jl = open(os.path.join(a.out, "log.jsonl"), "a")

    def log(msg, **rec):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n"), logf.flush()
        if rec:
            jl.write(json.dumps({"time": time.time(), **rec}) + "\n"), jl.flush()

    model = AVIN(cfg, freeze_audio=True)
    if not cfg.visual_trunk:
        model.v_encoder.load_state_dict(torch.load(os.path.join(a.init, "visual.pth"), map_location="cpu"))
    model.a_encoder.load_state_dict(torch.load(os.path.join(a.init, "audio.pth"), map_location="cpu"))
    if a.from_ckpt:
        model.load_state_dict(torch.load(a.from_ckpt, map_location="cpu", weights_only=False)["model"])
    t_start = time.time()
    if a.fresh or a.pack:
        tr, va = scenes_in_memory(a, cfg)     # composed before CUDA starts: the workers are forked
    else:
        tr = load_split(os.path.join(a.data, "train"), cfg.sample_rate)
        va = load_split(os.path.join(a.data, "val"), cfg.sample_rate)
    model.to(a.device)
    opt = create_optimizer(model, a.lr_visual, a.lr_proj, 1e-4)
    if a.limit:
        tr = {k: v[:a.limit] for k, v in tr.items()}
        va = {k: v[:a.limit] for k, v in va.items()}
    # the frozen encoder's outputs depend only on the pretraining run and the data, so both
    # methods share one cache beside audio.pth (written atomically; the second run reuses it)
    feat_cache = os.path.join(a.init, f"audio_feats-{os.path.basename(os.path.abspath(a.data))}-{a.limit}.pt")
    if a.fresh or a.pack:
        tr_af = audio_features(model.a_encoder, tr["waves"], cfg.window_samples, 2)
        va_af = audio_features(model.a_encoder, va["waves"], cfg.window_samples, 1)[:, 0]
    elif os.path.exists(feat_cache):
        tr_af, va_af = torch.load(feat_cache)
    else:
        tr_af = audio_features(model.a_encoder, tr["waves"], cfg.window_samples, 2)
        va_af = audio_features(model.a_encoder, va["waves"], cfg.window_samples, 1)[:, 0]
        torch.save((tr_af, va_af), feat_cache + ".tmp")
        os.replace(feat_cache + ".tmp", feat_cache)
    tr_vf = va_vf = None
    if a.freeze_visual:
        for prm in model.v_encoder.parameters():
            prm.requires_grad = False
        # a pretrained trunk's maps depend only on the trunk and the data: shared by every run on it
        vis_cache = (os.path.join(a.init, f"visual_maps-{cfg.visual_trunk}-{cfg.visual_cut}-{cfg.visual_pool}-"
                                          f"{cfg.image_size}-{os.path.basename(os.path.abspath(a.data))}-{a.limit}.pt")
                     if cfg.visual_trunk and not (a.fresh or a.pack) else None)
        if vis_cache and os.path.exists(vis_cache):
            tr_vf, va_vf = torch.load(vis_cache)
        else:
            tr_vf = visual_maps(model.v_encoder, tr["images"], cfg.image_size)
            va_vf = visual_maps(model.v_encoder, va["images"], cfg.image_size)[:, 0]
            if vis_cache:
                torch.save((tr_vf, va_vf), vis_cache + f".{os.getpid()}.tmp")
                os.replace(vis_cache + f".{os.getpid()}.tmp", vis_cache)
        if hasattr(model.v_encoder, "set_output_stats"):     # standardised by the training scenes' statistics
            model.v_encoder.set_output_stats(tr_vf[:, 0])
            tr_vf = model.v_encoder.standardise(tr_vf.float()).half()
            va_vf = model.v_encoder.standardise(va_vf.float()).half()
    if a.tag_epochs and tr_vf is not None and not (a.resume and os.path.exists(os.path.join(a.out, "last.pt"))):
        tag_stage(model, tr_vf, tr["items"], a.tag_epochs, a.batch_size, a.seed, log)
        for prm in model.v_proj.parameters():      # the scene stage then trains the audio projection only
            prm.requires_grad = False
    va_gt = gt_maps(va["items"], va["images"].shape[2], va["images"].shape[1])
    log(f"data ready: train {tuple(tr['images'].shape)}, audio feats {tuple(tr_af.shape)}, "
        f"val {len(va_gt)} ({time.time() - t_start:.0f} s)")

    start, step, best = 1, 0, -1.0
    last = os.path.join(a.out, "last.pt")
    if a.resume and os.path.exists(last):
        ck = torch.load(last, map_location=a.device, weights_only=False)
        model.load_state_dict(ck["model"]), opt.load_state_dict(ck["optimizer"])
        start, step, best = ck["epoch"] + 1, ck["step"], ck.get("best", -1.0)
        log(f"resumed at epoch {ck['epoch']}", event="resume", epoch=ck["epoch"])
    args = {**vars(a), "config": cfg.to_dict(), "data": os.path.abspath(a.data)}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"config": cfg.to_dict(), "args": args, "commit": git_commit()}, f, indent=2)

    def save(path, epoch, extra):
        torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()},
                    "optimizer": opt.state_dict(), "config": cfg.to_dict(),
                    "epoch": epoch, "step": step, "seed": a.seed, "best": best, "method": a.method,
                    "data": os.path.abspath(a.data), "commit": git_commit(), "args": args, **extra}, path + ".tmp")
        os.replace(path + ".tmp", path)

    if start == 1 and not os.path.exists(last):
        m0 = evaluate(model, va["images"], va_af, va_gt, cfg.image_size, va_vf)
        log(f"epoch 0 (init) val {json.dumps(m0)}", event="epoch", epoch=0, step=0, val=m0)
    N, bs = len(tr["images"]), a.batch_size
    for epoch in range(start, a.epochs + 1):
        g = torch.Generator().manual_seed(a.seed * 1000 + epoch)   # replayable order after resume
        perm = torch.randperm(N, generator=g)
        model.train()
        if a.freeze_visual:
            model.v_encoder.eval()      # fixed BN statistics too
        t0, sums, n = time.time(), {}, 0
        for i in range(0, N - bs + 1, bs):
            idx = perm[i:i + bs]
            win = torch.randint(0, tr_af.shape[1], (len(idx),), generator=g)
            fa = model.a_proj(tr_af[idx, win])
            if tr_vf is not None:
                view = torch.randint(0, tr_vf.shape[1], (len(idx),), generator=g)
                fv_map = model.v_proj(tr_vf[idx, view].float())
            else:
                fv_map = model.visual_map(augment(tr["images"][idx].to(a.device), cfg.image_size, g))
            losses = loss_for(a.method, fv_map, fa, cfg)
            opt.zero_grad()
            losses["loss"].backward()
            opt.step()
            step, n = step + 1, n + 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if step % 20 == 0:
                log(f"epoch {epoch} step {step} " + " ".join(f"{k} {v / n:.4f}" for k, v in sums.items()))
        avg = {k: v / max(n, 1) for k, v in sums.items()}
        m = evaluate(model, va["images"], va_af, va_gt, cfg.image_size, va_vf)
        if m["ciou@0.5"] > best:
            best = m["ciou@0.5"]
            save(os.path.join(a.out, "best.pt"), epoch, {"val": m})
        save(last, epoch, {"val": m})
        log(f"epoch {epoch} done ({time.time() - t0:.0f} s): {json.dumps(avg)} val {json.dumps(m)}",
            event="epoch", epoch=epoch, step=step, seconds=time.time() - t0, val=m, **avg)
        plot_curves(os.path.join(a.out, "log.jsonl"), os.path.join(a.out, "curves.png"), a.method)
        if a.minutes and time.time() - t_start > a.minutes * 60:
            log(f"time budget of {a.minutes} min reached after epoch {epoch}")
            break
    log(f"finished: best val cIoU@0.5 {best:.4f}, {(time.time() - t_start) / 60:.1f} min this session")


if __name__ == "__main__":
    main()
