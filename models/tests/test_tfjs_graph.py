"""The TF.js graph converter against @tensorflow/tfjs itself, on a real photograph.

Needs the repository's node_modules (`npm install`: @vladmandic/human carries the CenterNet graph
model and a sample photo; @tensorflow/tfjs-* run the original). Without them the test fails with
that instruction rather than skipping: CI installs them before it runs the suite.
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

from helpers import MODELS_DIR
from avloc_toolkit.tfjs_graph import TFJSGraph, read_weights, resize_bilinear_tf, same_pad
from avloc_toolkit.trunks import REPO_ROOT, PretrainedTrunk, trunk_json

PHOTO = os.path.join(REPO_ROOT, "node_modules", "@vladmandic", "human", "assets", "samples.jpg")
NECK = "tower_0/CenternetHead/mul"
CLASSES = "tower_0/keypoints"


def tfjs_reference(model_json: str, x: np.ndarray, names) -> list:
    """Runs the original graph in @tensorflow/tfjs (CPU backend) on NHWC float input."""
    with tempfile.TemporaryDirectory() as d:
        x.astype(np.float32).tofile(os.path.join(d, "in.f32"))
        subprocess.run(["node", os.path.join(MODELS_DIR, "scripts", "tfjs_run.mjs"), model_json,
                        os.path.join(d, "in.f32"), str(x.shape[1]), str(x.shape[2]), os.path.join(d, "out"), *names],
                       check=True, cwd=REPO_ROOT, capture_output=True)
        with open(os.path.join(d, "out.json")) as f:
            shapes = json.load(f)["shapes"]
        return [np.fromfile(os.path.join(d, f"out.{i}.f32"), np.float32).reshape(s) for i, s in enumerate(shapes)]


class TestTFSemantics(unittest.TestCase):
    def test_same_padding_puts_the_extra_row_and_column_after(self):
        x = torch.ones(1, 1, 4, 4)
        y = same_pad(x, 3, 2)                 # TF: total pad 1 -> 0 before, 1 after
        self.assertEqual(tuple(y.shape), (1, 1, 5, 5))
        self.assertEqual(float(y[0, 0, 0, 0]), 1.0)
        self.assertEqual(float(y[0, 0, 4, 4]), 0.0)
        self.assertEqual(tuple(same_pad(torch.ones(1, 1, 5, 5), 3, 1).shape), (1, 1, 7, 7))

    def test_legacy_resize_samples_dst_times_scale(self):
        x = torch.tensor([[[[0.0, 10.0]]]])   # 1 x 2 -> 1 x 4: src = 0, .5, 1, 1.5 (clamped)
        y = resize_bilinear_tf(x, 1, 4, align_corners=False, half_pixel=False)
        self.assertEqual(y.flatten().tolist(), [0.0, 5.0, 10.0, 10.0])

    def test_quantized_weights_are_dequantized(self):
        with tempfile.TemporaryDirectory() as d:
            half = np.array([0.5, -2.0, 3.25], np.float16)
            q8 = np.array([0, 128, 255], np.uint8)
            with open(os.path.join(d, "w.bin"), "wb") as f:
                f.write(half.tobytes() + q8.tobytes() + b"\0")
            manifest = [{"paths": ["w.bin"], "weights": [
                {"name": "a", "shape": [3], "dtype": "float32", "quantization": {"dtype": "float16"}},
                {"name": "b", "shape": [3], "dtype": "float32",
                 "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.01}},
                {"name": "c", "shape": [], "dtype": "float32", "quantization": {"dtype": "uint8", "min": 0.0, "scale": 1.0}}]}]
            w = read_weights(d, manifest)
            np.testing.assert_allclose(w["a"], [0.5, -2.0, 3.25])
            np.testing.assert_allclose(w["b"], [-1.0, 0.28, 1.55], rtol=1e-6)


class TestCenterNetAgainstTFJS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PHOTO):
            raise RuntimeError(f"{PHOTO} is missing: run `npm install` at {REPO_ROOT}")
        cls.json = trunk_json("centernet-mnv3")
        img = Image.open(PHOTO).convert("RGB").resize((512, 512), Image.BILINEAR)
        cls.x = np.asarray(img, np.float32)[None]
        cls.ref_neck, cls.ref_cls = tfjs_reference(cls.json, cls.x, [NECK, CLASSES])

    def run_torch(self, node):
        m = TFJSGraph(self.json, node).eval()
        with torch.no_grad():
            return m(torch.from_numpy(self.x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()

    def test_neck_matches_within_a_thousandth_of_its_range(self):
        got = self.run_torch(NECK)
        self.assertEqual(got.shape, self.ref_neck.shape)
        err = np.abs(got - self.ref_neck).max()
        rng = self.ref_neck.max() - self.ref_neck.min()
        self.assertLessEqual(err, 1e-3 * rng, f"max |err| {err} against range {rng}")

    def test_same_top_class(self):
        got = self.run_torch(CLASSES)
        top = lambda m: int(m.reshape(-1, m.shape[-1]).max(0).argmax())
        self.assertEqual(top(got), top(self.ref_cls))
        self.assertEqual(top(self.ref_cls), 0, "the sample photo shows people: COCO class 0, person")

    def test_trunk_is_trainable_and_runs_at_the_variant_size(self):
        t = PretrainedTrunk("centernet-mnv3", "bb9+head8", 224)
        self.assertTrue(all(p.requires_grad for p in t.parameters()))
        y = t(torch.randn(2, 3, 224, 224))
        self.assertEqual(tuple(y.shape), (2, 64 + 192, 14, 14))
        y.square().mean().backward()
        self.assertTrue(any(p.grad is not None and p.grad.abs().sum() > 0 for p in t.parameters()))


if __name__ == "__main__":
    unittest.main()
