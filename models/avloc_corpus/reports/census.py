"""Pictures and recordings per category and split of a built corpus (its splits.json).

  python3 -m avloc_corpus.reports.census [.cache/corpus/synth-v3 ...]   # several: side by side
"""
from __future__ import annotations

import json
import os
import sys

from ..paths import corpus_dir


def census(corpus: str) -> dict:
    with open(os.path.join(corpus, "splits.json")) as f:
        sp = json.load(f)
    out: dict = {}
    for split, d in sp.items():
        for cat, v in d["categories"].items():
            row = out.setdefault(cat, {})
            row[f"{split} pictures"] = len(v["pictures"])
            row[f"{split} sounds"] = len(v["sounds"])
            row[f"{split} real recordings"] = sum(not a["asset"].startswith("midi:") for a in v["sounds"])
    return out


def main(argv=None) -> None:
    corpora = (argv if argv is not None else sys.argv[1:]) or [corpus_dir()]
    tables = {os.path.basename(os.path.normpath(c)): census(c) for c in corpora}
    cats = sorted({c for t in tables.values() for c in t})
    cols = ["train sounds", "train real recordings", "val sounds", "test sounds", "train pictures"]
    print(f"{'category':<12}" + "".join(f"{n[:14] + ' ' + c:>34}" for n in tables for c in cols))
    for cat in cats:
        print(f"{cat:<12}" + "".join(f"{t.get(cat, {}).get(c, 0):>34}" for t in tables.values() for c in cols))
    for n, t in tables.items():
        print(n, "total", {c: sum(r.get(c, 0) for r in t.values()) for c in cols})


if __name__ == "__main__":
    main()
