"""AVIN's two projections on frozen pretrained encoders, trained with the scenes' boxes and labels.

  python3 -m avloc_corpus.training.train_heads --proj classes --staged --init .cache/runs/pretrain \
      --out .cache/runs/heads --data .cache/corpus/synth-v3 --data .cache/corpus/photo-v1

Why not AVIN's self-supervised objective alone: on the frozen COCO trunk it does not localize
these scenes (models/README.md, *Pretrained visual trunks*: best val cIoU@0.5 0.00-0.12), while the
same features localize well when boxes say where (the cut probe: 0.53). Composed scenes come with
boxes and categories for free, so the projections learn from them directly. Two forms:

* `--proj classes --staged` (the shipped default, models/README.md *The default model*): class
  heads (model.VisualClassHead, model.AudioClassHead) fitted one after the other as plain
  classifiers — each cell as the category drawn there or background, each clip as its sounding
  category — each stopped at its best val step (staged_fit);
* `--proj embedding`: jointly, in AVIN's C-dim space, cells and clips classified by cosine with
  learned category prototypes, plus a term on the heatmap itself (up on the sounding object's
  cells, down on every other cell and everywhere for a sound whose category is not in view);
  `--objective avin|ezvsl` adds that method's own loss (losses.loss_for, unchanged) with
  `--objective-weight`, and `--objective-only` trains with it alone: the self-supervised baseline
  on the same frozen encoders.

The network is AVIN's (toolkit model.AVIN): the checkpoint is the toolkit's format, and export,
controls, calibrate and ship take it as they take train_scenes' checkpoints.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from avloc_toolkit.config import CORPUS_VARIANTS, make_config
from avloc_toolkit.data import read_manifest
from avloc_toolkit.export import git_commit
from avloc_toolkit.losses import loss_for
from avloc_toolkit.metrics import metrics_from_heatmaps
from avloc_toolkit.model import AVIN

from ..scenes.scene_cache import audio_features, box_cells, cell_labels, gt_maps, load_split
from .plot import plot_curves
from .train_scenes import evaluate, visual_maps


def scene_targets(items, cats, side: int, grid: int):
    """(cell class [N, g, g]: 0 background, 1 + category; sounding cells [N, g, g] bool;
    sounding category [N] (-1 if not trained); categories in view [N, K] bool)."""
    labels = cell_labels(items, cats, side, grid)
    sounding = torch.stack([torch.stack([box_cells(b, side, grid) for b in it["boxes"]]).any(0) for it in items])
    y = torch.tensor([cats.index(it["sounding_category"]) if it["sounding_category"] in cats else -1 for it in items])
    present = torch.zeros(len(items), len(cats), dtype=torch.bool)
    for n, it in enumerate(items):
        for o in it["objects"]:
            if o["category"] in cats:
                present[n, cats.index(o["category"])] = True
    return labels, sounding, y, present


class Prototypes(nn.Module):
    """One unit vector per category (index 0: background) in the embedding space."""

    def __init__(self, n: int, dim: int):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n, dim) * 0.1)

    def forward(self) -> torch.Tensor:
        return F.normalize(self.w, dim=1)


def head_losses(model: AVIN, protos: Prototypes, vf, af, labels, sounding, y, present, tau: float,
                objective: str, objective_weight: float, cfg, balance: bool = True,
                supervised: bool = True) -> dict:
    """The joint objective in AVIN's embedding space (proj_kind "embedding"; class heads train with
    staged_fit): cells and clips classified by cosine with the category prototypes, plus the term on
    the heatmap itself, plus `objective`'s own loss with its weight."""
    keep = y >= 0
    fv_map, fa = model.v_proj(vf), model.a_proj(af)
    P = protos()
    cell_logits = torch.einsum("bchw,kc->bkhw", F.normalize(fv_map, dim=1), P) / tau
    audio_logits = F.normalize(fa, dim=1) @ P[1:].T / tau
    v = F.normalize(fv_map, dim=1)
    a = F.normalize(fa, dim=1)
    # cells: category drawn there (balance: object cells weigh as much in total as background cells)
    obj = (labels > 0).float()
    w = (torch.where(labels > 0, 0.5 / obj.mean().clamp_min(1e-3), 0.5 / (1 - obj.mean()).clamp_min(1e-3))
         if balance else torch.ones_like(obj))
    visual = (F.cross_entropy(cell_logits, labels, reduction="none") * w).mean()
    # clips: the sounding category
    audio = F.cross_entropy(audio_logits[keep], y[keep]) if keep.any() else fa.sum() * 0
    # heatmaps, scene i with clip j: positive on i's sounding cells when j is i's own clip; every
    # other cell, and every cell for a clip whose category is not in view in i, negative
    heat = torch.einsum("ichw,jc->ijhw", v, a)
    B = len(vf)
    eye = torch.eye(B, dtype=torch.bool, device=vf.device)
    target = (eye[:, :, None, None] & sounding[:, None]).float()
    y_j = y.clamp_min(0)
    absent = ~present[:, y_j] & keep[None, :]                                  # [i, j]
    weight = (eye | absent).float()[:, :, None, None].expand_as(heat)
    pos = target.sum().clamp_min(1)
    neg = (weight * (1 - target)).sum().clamp_min(1)
    logits = (heat - 0.3) / 0.1
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    av = (bce * target).sum() / pos + (bce * weight * (1 - target)).sum() / neg
    out = {"visual": visual, "audio": audio, "av": av}
    loss = visual + audio + av if supervised else 0.0
    if objective != "none" and objective_weight:
        own = loss_for(objective, fv_map, fa, cfg)
        out[objective] = own["loss"]
        loss = loss + objective_weight * own["loss"]
    out["loss"] = loss
    return out


def cached(path: str, make):
    """torch.load(path), or make() saved there atomically."""
    if os.path.exists(path):
        return torch.load(path)
    out = make()
    torch.save(out, path + f".{os.getpid()}.tmp")
    os.replace(path + f".{os.getpid()}.tmp", path)
    return out


def load_corpus(folder: str, cfg, model: AVIN, init: str, log):
    """Train and val of one corpus with the frozen encoders' outputs: trunk maps (plain and
    mirrored; cached beside the corpus, shared by every run on that trunk) and audio features
    (three windows per training clip; cached beside the audio encoder)."""
    name = os.path.basename(os.path.abspath(folder))
    tr = load_split(os.path.join(folder, "train"), cfg.sample_rate)
    va = load_split(os.path.join(folder, "val"), cfg.sample_rate)
    t0 = time.time()
    vis = cached(os.path.join(folder, f"trunk-{cfg.visual_trunk}-{cfg.visual_cut}-{cfg.image_size}.pt"), lambda: {
        "tr": visual_maps(model.v_encoder, tr["images"], cfg.image_size),
        "va": visual_maps(model.v_encoder, va["images"], cfg.image_size)[:, 0]})
    aud = cached(os.path.join(init, f"audio-{name}.pt"), lambda: {
        "tr": audio_features(model.a_encoder, tr["waves"], cfg.window_samples, 3),
        "va": audio_features(model.a_encoder, va["waves"], cfg.window_samples, 1)[:, 0]})
    log(f"{name}: {len(tr['items'])} train + {len(va['items'])} val scenes ready ({time.time() - t0:.0f} s)")
    return {"name": name, "tr": tr, "va": va, "tr_vf": vis["tr"], "va_vf": vis["va"], "tr_af": aud["tr"],
            "va_af": aud["va"], "va_gt": gt_maps(va["items"], va["images"].shape[2], va["images"].shape[1]),
            "side": tr["images"].shape[1]}


def oracle_score(model: AVIN, c: dict, cats) -> float:
    """Val cIoU@0.5 of the visual head alone: each scene's map of its true sounding category."""
    with torch.no_grad():
        p = model.v_proj.logits(c["va_vf"].float())
    k = [cats.index(it["sounding_category"]) + 1 if it["sounding_category"] in cats else 0 for it in c["va"]["items"]]
    heat = p[torch.arange(len(k)), torch.tensor(k)]
    return float(metrics_from_heatmaps(heat, c["va_gt"], "avin")["ciou@0.5"])


def audio_accuracy(model: AVIN, corpora, cats) -> float:
    """Val clips (every corpus' val scenes) classified as their sounding category."""
    ok = n = 0
    with torch.no_grad():
        for c in corpora:
            y = torch.tensor([cats.index(it["sounding_category"]) + 1 if it["sounding_category"] in cats else -1
                              for it in c["va"]["items"]])
            pred = model.a_proj.logits(c["va_af"]).argmax(1)
            ok, n = ok + int((pred == y)[y > 0].sum()), n + int((y > 0).sum())
    return ok / max(n, 1)


def staged_fit(model: AVIN, corpora, vf, af, labels, ys, cats, a, log) -> dict:
    """The class-probability heads fitted one at a time, each stopped where val says: the visual
    head as a classifier of cells (the category drawn there, or background), chosen by the val
    cIoU@0.5 of its true-category maps; the audio head as a classifier of clips, chosen by val
    accuracy. A linear head on frozen trunk features overfits the training scenes' picture styles
    within a few hundred steps (val falls after its peak), so the stopping point is what val picks."""
    g = torch.Generator().manual_seed(a.seed)
    bs, n = a.batch_size, len(vf)
    out = {}
    for part, head in (("visual", model.v_proj), ("audio", model.a_proj)):
        opt = torch.optim.Adam(head.parameters(), lr=a.lr, weight_decay=a.weight_decay)
        best, state, t0 = -1.0, None, time.time()
        for step in range(1, a.steps + 1):
            idx = torch.randint(0, n, (bs,), generator=g)
            if part == "visual":
                view = torch.randint(0, vf.shape[1], (bs,), generator=g)
                flip = (view == 1)[:, None, None]                 # view 1 is the mirrored scene
                lab = torch.where(flip, labels[idx].flip(-1), labels[idx])
                loss = F.cross_entropy(head.logits(model.v_encoder.standardise(vf[idx, view].float())), lab)
            else:
                keep = idx[ys[idx] >= 0]
                win = torch.randint(0, af.shape[1], (len(keep),), generator=g)
                loss = F.cross_entropy(head.logits(af[keep, win]), ys[keep] + 1)
            opt.zero_grad(), loss.backward(), opt.step()
            if step % a.eval_every == 0 or step == a.steps:
                score = (sum(oracle_score(model, c, cats) for c in corpora) / len(corpora) if part == "visual"
                         else audio_accuracy(model, corpora, cats))
                if score > best:
                    best, state = score, {k: v.clone() for k, v in head.state_dict().items()}
                log(f"{part} step {step}/{a.steps} loss {float(loss):.3f} val {score:.3f} (best {best:.3f}, "
                    f"{time.time() - t0:.0f} s)", event="step", part=part, step=step, loss=float(loss), val_score=score)
        head.load_state_dict(state)
        out[part] = best
        if part == "visual":      # the logits' scale on the sphere: the largest training cell's norm
            with torch.no_grad():
                norms = [model.v_proj.logits(model.v_encoder.standardise(vf[i:i + 256, 0].float())).norm(dim=1).max()
                         for i in range(0, n, 256)]
            model.v_proj.scale.fill_(float(torch.stack(norms).max()) * 1.05)
    return {"val visual (true-category maps)": out["visual"], "val audio accuracy": out["audio"]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", action="append", required=True, help="a corpus folder (repeatable)")
    p.add_argument("--init", required=True, help="pretraining run folder with audio.pth (pretrain.py --only audio)")
    p.add_argument("--out", required=True)
    p.add_argument("--variant", default="pretrained-cls", choices=list(CORPUS_VARIANTS), help="preset corpus-<variant>")
    p.add_argument("--objective", default="none", choices=["none", "avin", "ezvsl"])
    p.add_argument("--objective-weight", type=float, default=1.0)
    p.add_argument("--objective-only", action="store_true",
                   help="train with --objective alone (self-supervised: no boxes, no labels), the baseline the "
                        "supervised heads are compared with on the same frozen encoders")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--tau", type=float, default=0.1, help="temperature of the prototype classifiers")
    p.add_argument("--proj", default="classes", choices=["classes", "embedding"],
                   help="classes: both projections output class distributions (K categories + background; "
                        "AVINConfig.proj_kind); embedding: AVIN's C-dim space with learned category prototypes")
    p.add_argument("--staged", action="store_true", help="with --proj classes: fit the visual head, then the "
                   "audio head, each as a plain classifier stopped by val (staged_fit); no joint terms")
    p.add_argument("--steps", type=int, default=600, help="--staged: steps per head")
    p.add_argument("--eval-every", type=int, default=25, help="--staged: val every this many steps")
    p.add_argument("--weight-decay", type=float, default=0.0, help="--staged: Adam weight decay")
    p.add_argument("--no-balance", action="store_true", help="cells weigh the same (default: object cells "
                   "weigh as much in total as background cells)")
    p.add_argument("--proj-bias", action="store_true", help="AVINConfig.visual_proj_bias")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    cfg = make_config(f"corpus-{a.variant}")
    cfg.visual_proj_bias = a.proj_bias
    logf, jl = open(os.path.join(a.out, "train.log"), "a"), open(os.path.join(a.out, "log.jsonl"), "a")

    def log(msg, **rec):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n"), logf.flush()
        if rec:
            jl.write(json.dumps({"time": time.time(), **rec}) + "\n"), jl.flush()

    cats = sorted({o["category"] for d in a.data for it in read_manifest(os.path.join(d, "train"))
                   for o in it["objects"]})
    if a.proj == "classes":
        if not a.staged:
            raise SystemExit("--proj classes trains with --staged (the joint objective is for --proj embedding)")
        cfg.proj_kind, cfg.embed_dim = "classes", len(cats) + 2
    model = AVIN(cfg, freeze_audio=True)
    model.a_encoder.load_state_dict(torch.load(os.path.join(a.init, "audio.pth"), map_location="cpu"))
    for prm in model.v_encoder.parameters():
        prm.requires_grad = False
    corpora = [load_corpus(d, cfg, model, a.init, log) for d in a.data]
    # the trunk's output standardisation: from the training scenes of every corpus
    model.v_encoder.set_output_stats(torch.cat([c["tr_vf"][:, 0] for c in corpora]))
    grid = corpora[0]["tr_vf"].shape[-1]
    vf, af, labels, sounding, ys, present = [], [], [], [], [], []
    for c in corpora:
        lab, snd, y, pres = scene_targets(c["tr"]["items"], cats, c["side"], grid)
        vf.append(c["tr_vf"]), af.append(c["tr_af"]), labels.append(lab), sounding.append(snd)
        ys.append(y), present.append(pres)
        c["va_vf"] = model.v_encoder.standardise(c["va_vf"].float()).half()
    vf, af = torch.cat(vf), torch.cat(af)
    labels, sounding, ys, present = torch.cat(labels), torch.cat(sounding), torch.cat(ys), torch.cat(present)
    protos = Prototypes(len(cats) + 1, cfg.embed_dim)
    params = list(model.v_proj.parameters()) + list(model.a_proj.parameters()) + list(protos.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=1e-4)
    log(f"data: {len(vf)} training scenes over {len(cats)} categories, grid {grid}, "
        + ", ".join(f"{c['name']} val {len(c['va_gt'])}" for c in corpora))
    args = {**vars(a), "config": cfg.to_dict(), "categories": cats}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"args": args, "commit": git_commit()}, f, indent=2)
    start, best, last = 1, -1.0, os.path.join(a.out, "last.pt")
    if a.staged:
        picked = staged_fit(model, corpora, vf, af, labels, ys, cats, a, log)
        model.eval()
        vals = {c["name"]: evaluate(model, c["va"]["images"], c["va_af"], c["va_gt"], cfg.image_size, c["va_vf"])
                for c in corpora}
        best = sum(v["ciou@0.5"] for v in vals.values()) / len(vals)
        torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}, "config": cfg.to_dict(),
                    "epoch": a.steps, "best": best, "method": "heads-staged", "categories": cats,
                    "data": os.path.abspath(a.data[0]), "seed": a.seed, "args": args, "commit": git_commit(),
                    "val": vals, "stages": picked}, os.path.join(a.out, "best.pt"))
        log(f"staged heads: {json.dumps(picked)}; val with the audio: "
            + " ".join(f"{k} {v['ciou@0.5']:.3f}/{v['auc']:.3f}" for k, v in vals.items()))
        return

    def save(path, epoch, extra):
        torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}, "prototypes": protos.state_dict(),
                    "optimizer": opt.state_dict(), "config": cfg.to_dict(), "epoch": epoch, "best": best,
                    "method": f"heads+{a.objective}", "categories": cats,
                    "data": os.path.abspath(a.data[0]), "seed": a.seed, "args": args, "commit": git_commit(),
                    **extra}, path + ".tmp")
        os.replace(path + ".tmp", path)

    if a.resume and os.path.exists(last):
        ck = torch.load(last, map_location="cpu")
        model.load_state_dict(ck["model"]), protos.load_state_dict(ck["prototypes"]), opt.load_state_dict(ck["optimizer"])
        start, best = ck["epoch"] + 1, ck["best"]
        log(f"resumed after epoch {ck['epoch']}")
    N, bs = len(vf), a.batch_size
    steps = a.epochs * (N // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.1)
    for _ in range((start - 1) * (N // bs)):
        sched.step()
    for epoch in range(start, a.epochs + 1):
        g = torch.Generator().manual_seed(a.seed * 1000 + epoch)
        perm = torch.randperm(N, generator=g)
        t0, sums, n = time.time(), {}, 0
        model.train()
        for i in range(0, N - bs + 1, bs):
            idx = perm[i:i + bs]
            view = torch.randint(0, vf.shape[1], (bs,), generator=g)
            win = torch.randint(0, af.shape[1], (bs,), generator=g)
            flip = (view == 1)[:, None, None]                        # view 1 is the mirrored scene
            lab = torch.where(flip, labels[idx].flip(-1), labels[idx])
            snd = torch.where(flip, sounding[idx].flip(-1), sounding[idx])
            x = model.v_encoder.standardise(vf[idx, view].float())
            losses = head_losses(model, protos, x, af[idx, win], lab, snd, ys[idx], present[idx], a.tau,
                                 a.objective, a.objective_weight, cfg, not a.no_balance, not a.objective_only)
            opt.zero_grad()
            losses["loss"].backward()
            opt.step()
            sched.step()
            n += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v)
        avg = {k: v / max(n, 1) for k, v in sums.items()}
        vals = {c["name"]: evaluate(model, c["va"]["images"], c["va_af"], c["va_gt"], cfg.image_size, c["va_vf"])
                for c in corpora}
        score = sum(v["ciou@0.5"] for v in vals.values()) / len(vals)
        if score > best:
            best = score
            save(os.path.join(a.out, "best.pt"), epoch, {"val": vals})
        save(last, epoch, {"val": vals})
        log(f"epoch {epoch}/{a.epochs} ({time.time() - t0:.0f} s) " + " ".join(f"{k} {v:.3f}" for k, v in avg.items())
            + " | val " + " ".join(f"{k} {v['ciou@0.5']:.3f}/{v['auc']:.3f}" for k, v in vals.items()),
            event="epoch", epoch=epoch, **avg, per_corpus=vals,
            val={"ciou@0.5": score, "auc": sum(v["auc"] for v in vals.values()) / len(vals)})
        plot_curves(os.path.join(a.out, "log.jsonl"), os.path.join(a.out, "curves.png"), f"heads+{a.objective}",
                    loss_keys=("loss", "visual", "audio", "av", a.objective))
    log(f"finished: best mean val cIoU@0.5 {best:.3f}")


if __name__ == "__main__":
    main()
