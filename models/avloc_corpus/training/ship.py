"""Export the trained AVIN checkpoint as the shipped bundle and write its card.

  python3 -m avloc_corpus.training.ship --checkpoint .cache/runs/avin/best.pt --report .cache/report \
      --out ../models/avin-synth

The card carries the contract's fields (format, graphs, training data/epochs/seed/commit, test
metrics) and extras: the baseline's and the references' test metrics, the corpus (categories,
held-out ones, sizes, seed), the packages and licences of every source, the pretraining and the
measured visual latency. Metrics come from the report (reports/report.py), whose bundle evaluation
runs the exported graphs in onnxruntime-node; run report.py again with --bundle after exporting, and
reports/calibrate.py --write for the card's `sounding` (it fits the exported graphs, so it comes last).
"""
from __future__ import annotations

import argparse
import glob
import json
import os

import torch

from avloc_toolkit.export import export_bundle, git_commit, make_card
from avloc_toolkit.trunks import TRUNKS, provenance

from .checkpoints import recorded_scan
from .checkpoints import load_ckpt


def data_licences(splits_json: str) -> list:
    seen = {}
    with open(splits_json) as f:
        sp = json.load(f)
    for split in sp.values():
        for cat in split["categories"].values():
            for a in cat["pictures"] + cat["sounds"]:
                seen[a["package"]] = a["license"]
    seen["mate-backgrounds"] = "GPL-2+ / CC-BY-SA"
    seen["plasma-workspace-wallpapers"] = "LGPL-3 / CC-BY-SA-4.0"
    return [{"package": k, "license": v} for k, v in sorted(seen.items())]


def first_stage(ck: dict):
    """When the run continued from another scene checkpoint (--from), what that stage was."""
    src = ck["args"].get("from_ckpt")
    if not src or not os.path.exists(src):
        return None
    prev = torch.load(src, map_location="cpu")
    return {"run": os.path.basename(os.path.dirname(os.path.abspath(src))), "epoch": int(prev["epoch"]),
            "epochs_run": last_epoch(src), "visual_encoder": "frozen" if prev["args"].get("freeze_visual") else "trained",
            "lr_visual": prev["args"]["lr_visual"], "lr_proj": prev["args"]["lr_proj"], "val": prev.get("val")}


def scene_training(ck: dict, a, cfg) -> dict:
    """The card's account of a train_scenes run (self-supervised)."""
    sel_c = ck.get("config", {}).get("feature_centering", 0.0)
    return {
        "selection": "the epoch with the best val cIoU@0.5 (AVIN protocol) among all epochs run"
                     + (f", its maps made with feature centering {sel_c}" if sel_c else ""),
        "objective": {"avin": "AVIN objective (contrastive + distance)",
                      "ezvsl": "EZ-VSL multiple-instance contrastive (max over cells)"}[ck.get("method", "avin")]
                     + ", self-supervised: no labels, no boxes",
        "visual_encoder": ("frozen after pretraining: only the two projections trained on scenes"
                           if ck["args"].get("freeze_visual") else "fine-tuned on scenes"),
        "optimizer": {"name": "Adam", "lr_visual": ck["args"]["lr_visual"], "lr_proj": ck["args"]["lr_proj"],
                      "weight_decay": 1e-4, "batch_size": ck["args"]["batch_size"]},
        "feature_centering": {
            "value": cfg.feature_centering,
            "what": "visual.onnx subtracts this multiple of the frame's mean cell (the induction vector) from every "
                    "cell before the L2 normalisation; 0 is the official avmap",
            "chosen": "by val cIoU@0.5 over {0, 0.5, ..., 3} (avloc_corpus.training.centering), never on test",
            "selected_best_with": sel_c,
            "val": recorded_scan(a.checkpoint)},
        "first_stage": first_stage(ck),
    }


def head_training(ck: dict) -> dict:
    """The card's account of a train_heads run (the projections trained with the scenes' boxes)."""
    args = ck["args"]
    if args.get("staged"):
        return {
            "data": "scenes of the avloc corpora " + ", ".join(os.path.basename(os.path.normpath(d)) for d in args["data"])
                    + " (models/avloc_corpus/scenes: build.py, photo_corpus.py), train splits",
            "objective": "class-probability heads (AVINConfig.proj_kind 'classes', avloc_corpus/training/train_heads.py --staged): "
                         "the visual 1x1 projection fitted as a classifier of each cell (the category drawn there, "
                         "or background; the scenes' boxes), the audio MLP as a classifier of each clip (the sounding "
                         "category); cross-entropy, each stopped at the step with the best val score",
            "selection": "visual head: the step with the best mean val cIoU@0.5 of its true-category maps; audio head: "
                         "the step with the best val clip accuracy (val every " + str(args["eval_every"]) + " steps)",
            "stages": ck.get("stages"),
            "categories": ck.get("categories"),
            "optimizer": {"name": "Adam", "lr": args["lr"], "weight_decay": args["weight_decay"],
                          "batch_size": args["batch_size"], "steps_per_head": args["steps"]},
        }
    own = {"none": "", "avin": " + the AVIN objective (contrastive + distance, unchanged)",
           "ezvsl": " + the EZ-VSL multiple-instance contrastive loss"}[args["objective"]]
    return {
        "data": "scenes of the avloc corpora " + ", ".join(os.path.basename(os.path.normpath(d)) for d in args["data"])
                + " (models/avloc_corpus/scenes: build.py, photo_corpus.py), train splits",
        "selection": "the epoch with the best mean val cIoU@0.5 (AVIN protocol) over those corpora",
        "objective": "box- and label-supervised projections (avloc_corpus/training/train_heads.py): cells classified by "
                     "cosine with category prototypes, clips by the sounding category, and the heatmap pushed up "
                     "on the sounding object's cells and down elsewhere and for sounds not in view"
                     + own + (f", weight {args['objective_weight']}" if own else ""),
        "categories": ck.get("categories"),
        "optimizer": {"name": "AdamW", "lr": args["lr"], "schedule": "one-cycle", "weight_decay": 1e-4,
                      "batch_size": args["batch_size"], "temperature": args["tau"]},
    }


def last_epoch(checkpoint: str) -> int:
    last = os.path.join(os.path.dirname(checkpoint), "last.pt")
    return int(torch.load(last, map_location="cpu")["epoch"]) if os.path.exists(last) else -1


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--report", help="report folder (metrics.json from report.py)")
    p.add_argument("--timing", help="JSON printed by time_visual.mjs")
    p.add_argument("--pretrain", help="pretraining folder(s), comma-separated (pretrain*.json)")
    p.add_argument("--controls", help="controls.json from controls.py: shuffled audio, objectness, by style")
    p.add_argument("--photo-report", help="metrics.json of report.py on the photo-only corpus")
    p.add_argument("--photo-controls", help="controls.json of controls.py on the photo-only corpus")
    p.add_argument("--camera", help="camera.json of camera.py (whole photographs)")
    p.add_argument("--out", required=True)
    p.add_argument("--name", default="avin-synth")
    p.add_argument("--version", default="1.0.0")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    model, ck = load_ckpt(a.checkpoint)     # with the centering chosen for it
    cfg = model.cfg
    data = ck["data"]
    with open(os.path.join(data, "corpus.json")) as f:
        corpus = json.load(f)
    corpus_name = os.path.basename(os.path.normpath(data))
    metrics = {"split": f"test ({corpus_name}, {corpus['test']} scenes, assets unseen in training)", "protocol": "avin"}
    extra_metrics = {}
    if a.report:
        with open(os.path.join(a.report, "metrics.json")) as f:
            rep = json.load(f)["results"]
        own = "ezvsl" if ck.get("method", "avin").endswith("ezvsl") else "avin"   # report.py's --avin / --ezvsl
        main_key = f"{own} (bundle, onnxruntime-node)" if f"{own} (bundle, onnxruntime-node)" in rep else own
        metrics.update({k: rep[main_key][k] for k in ("ciou@0.5", "auc", "nsa", "n")})
        metrics["evaluated_with"] = main_key
        extra_metrics = {k: {m: v[m] for m in ("ciou@0.5", "auc", "nsa", "mean_ciou") if m in v}
                         for k, v in rep.items()}
        for k in ("avin", "ezvsl"):
            for part in ("breakdown", "peak"):
                if part in rep.get(k, {}):
                    extra_metrics[k][part] = rep[k][part]
    pre = {}
    for d in (a.pretrain or "").split(","):
        for path in sorted(glob.glob(os.path.join(d, "pretrain*.json")) if d else []):
            name = os.path.basename(path)
            with open(path) as f:
                j = json.load(f)
            pre[os.path.join(os.path.basename(os.path.normpath(d)), name)] = {
                k: v for k, v in j.items() if k not in ("config", "n_visual" if "audio" in name else "n_audio",
                                                        "n_audio" if "visual" in name else "n_visual")}
    training = {
        "data": f"avloc real-material corpus {corpus_name} (models/avloc_corpus, seed {corpus['seed']}): "
                f"{corpus['train']} train / {corpus['val']} val / {corpus['test']} test scenes",
        "epochs": int(ck["epoch"]), "seed": int(ck["seed"]),
        "epochs_run": last_epoch(a.checkpoint),
        "commit": ck.get("commit") or git_commit(),
        "audio_encoder": "frozen after pretraining (official recipe)",
        "val": ck.get("val"),
        "pretraining": pre,
        "dataLicenses": data_licences(os.path.join(data, "splits.json")),
    }
    training.update(head_training(ck) if ck.get("method", "").startswith("heads") else scene_training(ck, a, cfg))
    extra = {
        "description": "AVIN (Induction Network) small variant trained self-supervised on scenes built from real "
                       "photos, drawings and recordings of Debian/npm packages (Tux Paint, GCompris, Noto and "
                       "Fluent 3D emoji, ten Iconify emoji styles, FluidR3/TimGM6mb soundfont renders). Localizes the sounding object among "
                       "1-3 objects; categories: " + ", ".join(corpus["categories"]),
        "corpus": {k: corpus[k] for k in ("seed", "train", "val", "test", "size", "rate", "seconds", "held_out",
                                           "categories", "second_prob")},
        "comparison": extra_metrics,
    }
    if ck.get("method", "").startswith("heads"):
        extra["description"] = extra["description"].replace(
            "trained self-supervised on scenes", "with class heads trained on scenes (their boxes and labels)")
    for key, path in (("photo_report", a.photo_report), ("photo_controls", a.photo_controls), ("camera", a.camera)):
        if path:
            with open(path) as f:
                j = json.load(f)
            extra.setdefault("real_photos", {})[key] = (
                {k: {m: v[m] for m in ("n", "ciou@0.5", "auc", "mean_ciou") if m in v} | (
                    {"breakdown": v["breakdown"]} if "breakdown" in v else {}) for k, v in j["results"].items()}
                if key == "photo_report" else j.get("summary", j))
    if a.timing:
        with open(a.timing) as f:
            extra["latency"] = json.load(f)
    if a.controls:
        with open(a.controls) as f:
            extra["controls"] = json.load(f)
    license = "MIT (weights and code); training material under the licences in training.dataLicenses"
    if cfg.visual_trunk:
        extra["provenance"] = {"visual_trunk": provenance(cfg.visual_trunk, cfg.visual_cut)}
        extra["description"] = extra["description"].replace(
            "AVIN (Induction Network) small variant",
            f"AVIN (Induction Network) on a pretrained visual trunk ({TRUNKS[cfg.visual_trunk]['what']}, "
            f"unpacked from npm {TRUNKS[cfg.visual_trunk]['package']}@{TRUNKS[cfg.visual_trunk]['version']})")
        training["visual_encoder"] = (f"the pretrained trunk, frozen: {cfg.visual_trunk} cut at "
                                      f"{provenance(cfg.visual_trunk, cfg.visual_cut)['cut']}, average-pooled by "
                                      f"{cfg.visual_pool}; only AVIN's two projections trained on scenes")
        license = (f"MIT (projections, audio encoder, code); visual trunk: {TRUNKS[cfg.visual_trunk]['license']} "
                   f"(provenance.visual_trunk); training material under the licences in training.dataLicenses")
    card = make_card(cfg, a.name, version=a.version, training=training, metrics=metrics, license=license, extra=extra)
    card["method"] = ck.get("method", "avin")
    paths = export_bundle(model, a.out, card)
    total = sum(os.path.getsize(v) for v in paths.values())
    print(json.dumps({k: os.path.getsize(v) for k, v in paths.items()}), f"total {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
