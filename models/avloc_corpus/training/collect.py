"""Pack a recipe folder's results into a few files small enough to bring back from a lent machine.

  python3 -m avloc_corpus.training.collect RUNS_DIR DEST_DIR

Writes DEST/<run>.pt for each scene run's best.pt (the optimiser state dropped: the weights, the
card fields and the val metrics are what export and report read), DEST/pretrain.tar (encoder
weights and their json) and DEST/logs.tar (every log, json and curves.png). Each file stays well
under 16 MB for this corpus variant; safe to run again after every stage.
"""
from __future__ import annotations

import glob
import os
import sys
import tarfile

import torch


def collect(runs: str, dest: str) -> list:
    os.makedirs(dest, exist_ok=True)
    written = []
    for best in sorted(glob.glob(os.path.join(runs, "*", "best.pt"))):
        name = os.path.basename(os.path.dirname(best))
        ck = torch.load(best, map_location="cpu", weights_only=False)
        ck.pop("optimizer", None)
        out = os.path.join(dest, f"{name}.pt")
        torch.save(ck, out + ".tmp")
        os.replace(out + ".tmp", out)
        written.append(out)
    for tar_name, patterns in (("pretrain.tar", ["pretrain*/*.pth", "pretrain*/*.json"]),
                               ("logs.tar", ["*/*.log", "*/log.jsonl", "*/config.json", "*/curves.png", "*/centering.json",
                                             "*/pretrain*.json", "*.log"])):
        files = sorted({f for p in patterns for f in glob.glob(os.path.join(runs, p))})
        if not files:
            continue
        out = os.path.join(dest, tar_name)
        with tarfile.open(out + ".tmp", "w") as tf:
            for f in files:
                tf.add(f, arcname=os.path.relpath(f, runs))
        os.replace(out + ".tmp", out)
        written.append(out)
    return written


if __name__ == "__main__":
    for path in collect(sys.argv[1], sys.argv[2]):
        print(f"{path} {os.path.getsize(path) / 1e6:.1f} MB")
