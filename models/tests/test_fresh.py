"""Fresh scenes and the asset pack, on small synthetic pools (no package needs to be unpacked):
a pack reads back the pools it was written from, fresh scenes depend on the seed and never on
the number of worker processes, and a scene's box matches where its object was pasted."""
import os
import random
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

from helpers import MODELS_DIR  # noqa: F401
from avloc_corpus.scenes import build, generate
from avloc_corpus.scenes.pack import read_pack, write_pack
from avloc_corpus.scenes.scene_cache import as_float_wave

CATS = ("cat", "dog", "horse", "lion")


def spec(kind, ref):
    return {"kind": kind, "ref": ref, "package": "test", "license": "CC0"}


def synthetic_pools():
    rng = np.random.default_rng(0)
    pools, bgs = {}, {}
    for split in ("train", "val", "test"):
        pools[split] = {}
        for k, c in enumerate(CATS):
            pic = np.zeros((30 + 5 * k, 40, 4), np.uint8)
            pic[..., k % 3] = 200
            pic[..., 3] = 255
            snd = (0.5 * np.sin(np.arange(8000) * (0.05 + 0.02 * k))).astype(np.float32)
            pools[split][c] = {"pictures": [(spec("png", f"{c}-{split}"), Image.fromarray(pic, "RGBA"))],
                               "sounds": [(spec("wav", f"{c}-{split}"), snd)]}
        # smooth grey gradients: JPEG keeps them close, and no pixel looks like an object
        ramp = np.linspace(60, 140, 320)[None, :, None] + rng.uniform(-10, 10) + np.zeros((240, 1, 3))
        bgs[split] = [(spec("jpg", f"bg-{split}-{i}"), Image.fromarray((ramp + 10 * i).astype(np.uint8), "RGB"))
                      for i in range(2)]
    return pools, bgs


class Pack(unittest.TestCase):
    def test_round_trip(self):
        pools, bgs = synthetic_pools()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "a.pack")
            write_pack(path, pools, bgs, 0, 16000)
            back, back_bgs = read_pack(path, 0, 16000)
            with self.assertRaises(ValueError):
                read_pack(path, 1, 16000)    # the splits of another seed are not these
        for split in pools:
            for c in CATS:
                (s0, p0), (s1, p1) = pools[split][c]["pictures"][0], back[split][c]["pictures"][0]
                self.assertEqual(s0, s1)
                np.testing.assert_array_equal(np.asarray(p0), np.asarray(p1))
                w0, w1 = pools[split][c]["sounds"][0][1], back[split][c]["sounds"][0][1]
                self.assertEqual(w1.dtype, np.float32)
                self.assertLess(np.abs(w0 - w1).max(), 1.0 / 32767)
            self.assertEqual([s for s, _ in bgs[split]], [s for s, _ in back_bgs[split]])
            diff = np.abs(np.asarray(bgs[split][0][1], np.float32) - np.asarray(back_bgs[split][0][1], np.float32))
            self.assertLess(diff.mean(), 2.0)   # JPEG: close, not exact


class Fresh(unittest.TestCase):
    def setUp(self):
        pools, bgs = synthetic_pools()
        self.make = generate.scene_arrays(pools["train"], bgs["train"], 96, 1.0, 8000, 0.3)

    def test_same_seed_same_scenes_whatever_the_workers(self):
        old = generate.CHUNK
        generate.CHUNK = 7      # several chunks out of 20 scenes
        try:
            one = generate.in_chunks(self.make, 20, "t", workers=1)
            two = generate.in_chunks(self.make, 20, "t", workers=2)
            other = generate.in_chunks(self.make, 20, "u", workers=1)
        finally:
            generate.CHUNK = old
        self.assertEqual(one["images"].shape, (20, 96, 96, 3))
        self.assertEqual(one["waves"].shape, (20, 8000))
        self.assertEqual(one["waves"].dtype, np.int16)
        for k in one:
            np.testing.assert_array_equal(one[k], two[k])
        self.assertFalse(np.array_equal(one["images"], other["images"]))

    def test_box_is_where_the_object_is(self):
        out = self.make(12, random.Random(3))
        on_object = []
        for img, box in zip(out["images"], out["boxes"]):
            x0, y0, x1, y1 = box
            self.assertTrue(0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96)
            # synthetic objects are one saturated channel (200, brightness-jittered) on grey
            # backgrounds; the sounding one may be partly covered by a later object, never wholly
            inside = img[y0:y1, x0:x1].reshape(-1, 3).astype(int)
            coloured = ((inside.max(1) >= 140) & (np.sort(inside, 1)[:, 1] <= 20)).mean()
            on_object.append(coloured)
        self.assertGreater(min(on_object), 0.5)

    def test_pcm_waves_become_float(self):
        w = torch.tensor([[32767, -32767, 0]], dtype=torch.int16)
        np.testing.assert_allclose(as_float_wave(w).numpy(), [[1.0, -1.0, 0.0]])
        f = torch.zeros(1, 3)
        self.assertIs(as_float_wave(f), f)

    def test_composing_again_gives_the_stored_split(self):
        # --fresh recreates the corpus' val split in memory by drawing compose_scene from the
        # builder's own rng: same records, same pictures (up to the stored JPEG)
        import argparse
        import json
        pools, bgs = synthetic_pools()
        args = argparse.Namespace(seconds=1.0, rate=8000, size=96, second_prob=0.3)
        with tempfile.TemporaryDirectory() as tmp:
            build.build_split("val", 6, pools["val"], bgs["val"], tmp, args, random.Random("0:val"))
            with open(os.path.join(tmp, "manifest.jsonl")) as f:
                stored = [json.loads(line) for line in f]
            first = np.asarray(Image.open(os.path.join(tmp, stored[0]["image"])).convert("RGB"), np.float32)
        rng = random.Random("0:val")
        cats = build.scene_categories(pools["val"])
        again = [build.compose_scene(pools["val"], cats, bgs["val"], rng, 96, 8000, 0.3) for _ in range(6)]
        for rec, (canvas, _, fresh) in zip(stored, again):
            self.assertEqual({k: v for k, v in rec.items() if k not in ("id", "image", "audio")}, fresh)
        self.assertLess(np.abs(np.asarray(again[0][0].convert("RGB"), np.float32) - first).mean(), 4.0)


class Centering(unittest.TestCase):
    def test_scan_and_sidecar(self):
        # scan scores each grid value with the model's own maps; lambda 0 is the plain heatmap,
        # and the sidecar is read back only for the checkpoint it was written for
        import json
        from avloc_corpus.training import centering, checkpoints
        from avloc_toolkit.config import make_config
        from avloc_toolkit.model import AVIN
        torch.manual_seed(0)
        model = AVIN(make_config("corpus-scratch")).eval()
        rng = np.random.default_rng(0)
        split = {"images": torch.from_numpy(rng.integers(0, 255, (4, 160, 160, 3), dtype=np.uint8)),
                 "waves": torch.from_numpy(rng.standard_normal((4, 40000)).astype(np.float32) * 0.1),
                 "items": [{"boxes": [[10 * i, 20, 10 * i + 60, 90]]} for i in range(4)]}
        res = centering.scan(model, split, grid=(0.0, 1.0))
        self.assertEqual(sorted(res), [0.0, 1.0])
        for r in res.values():
            self.assertTrue(0.0 <= r["ciou@0.5"] <= 1.0 and 0.0 <= r["auc"] <= 1.0)
        self.assertNotEqual(res[0.0]["mean_ciou"], res[1.0]["mean_ciou"])
        with tempfile.TemporaryDirectory() as tmp:
            ck = os.path.join(tmp, "best.pt")
            self.assertEqual(checkpoints.recorded(ck, 0.5), 0.5)       # nothing recorded: the default
            with open(checkpoints.sidecar(ck), "w") as f:
                json.dump({"centering": 2.5, "checkpoint": "best.pt", "val": {}}, f)
            self.assertEqual(checkpoints.recorded(ck), 2.5)
            self.assertEqual(checkpoints.recorded(os.path.join(tmp, "last.pt"), 0.0), 0.0)


if __name__ == "__main__":
    unittest.main()
