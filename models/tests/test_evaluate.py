import unittest

import numpy as np
import torch

from helpers import MODELS_DIR  # noqa: F401
from avloc_toolkit.metrics import (metrics_from_heatmaps, normalize_maps, prediction_maps, trapezoid_auc,
                                    upsample)


def box(y0, y1, x0, x1, size=224):
    g = torch.zeros(size, size)
    g[y0:y1, x0:x1] = 1
    return g


class Metrics(unittest.TestCase):
    def test_perfect_prediction(self):
        gt = box(50, 150, 60, 120)
        heat = gt.clone() * 0.8 - 0.1                 # min-max -> exactly the box
        r = metrics_from_heatmaps(heat[None], gt[None])
        self.assertEqual(r["ciou@0.5"], 1.0)
        self.assertAlmostEqual(r["auc"], 1.0)
        self.assertAlmostEqual(r["nsa"], 1.0)

    def test_ciou_and_nsa_by_hand(self):
        gt = box(0, 100, 0, 100)                      # |G| = 10000
        heat = box(50, 150, 0, 100)                   # P: 5000 inside G, 5000 outside
        r = metrics_from_heatmaps(heat[None], gt[None])
        ciou = 5000 / (10000 + 5000)
        self.assertAlmostEqual(r["per_item"]["ciou"][0], ciou, places=6)
        self.assertAlmostEqual(r["nsa"], 1 - 5000 / (224 * 224 - 10000), places=6)
        self.assertEqual(r["ciou@0.5"], 0.0)
        # the fraction curve is 1 for t <= 1/3 and 0 after: AUC = 0.3 + half a step of 0.05
        fr = r["curve"]["fraction"]
        self.assertEqual(fr[:7], [1.0] * 7)
        self.assertEqual(fr[7:], [0.0] * 14)
        self.assertAlmostEqual(r["auc"], 0.3 + 0.025, places=6)

    def test_threshold_is_fixed_half_after_minmax(self):
        heat = torch.linspace(0, 1, 224)[None, :].repeat(224, 1)[None] * 4 - 2   # ramp from -2 to 2
        p = prediction_maps(heat, "avin")[0]
        self.assertEqual(int(p[0].sum()), 112)

    def test_median_protocol(self):
        torch.manual_seed(0)
        heat = torch.randn(2, 7, 7)
        p = prediction_maps(heat, "median")
        # thresholding at the sorted value at index 224*224/2 keeps half of the pixels (no ties)
        self.assertTrue(((p.sum((1, 2)) - 224 * 224 / 2).abs() <= 1).all())

    def test_upsample_and_normalize(self):
        h = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
        u = upsample(h, 4)
        # bilinear, align_corners=False: first row = 0, 0.25, 0.75, 1
        self.assertTrue(torch.allclose(u[0, 0], torch.tensor([0.0, 0.25, 0.75, 1.0])))
        n = normalize_maps(u)
        self.assertAlmostEqual(float(n.min()), 0.0)
        self.assertAlmostEqual(float(n.max()), 1.0)

    def test_trapezoid(self):
        self.assertAlmostEqual(trapezoid_auc([0, 0.5, 1], [1, 1, 0]), 0.75)


if __name__ == "__main__":
    unittest.main()


class BundleEvaluation(unittest.TestCase):
    """evaluate --bundle runs the graphs in onnxruntime-node; it must agree with PyTorch."""

    def test_bundle_and_pytorch_agree(self):
        import os
        import shutil
        import tempfile
        from helpers import make_manifest
        from avloc_toolkit.config import make_config
        from avloc_toolkit.data import AVManifestDataset
        from avloc_toolkit.evaluate import heatmaps_from_bundle, heatmaps_from_checkpoint, repo_root
        from avloc_toolkit.export import export_bundle, make_card
        from avloc_toolkit.model import AVIN
        if not shutil.which("node") or not os.path.isdir(os.path.join(repo_root(), "node_modules", "onnxruntime-node")):
            self.skipTest("node / onnxruntime-node not available")
        cfg = make_config("tiny")
        torch.manual_seed(0)
        model = AVIN(cfg).eval()
        with tempfile.TemporaryDirectory() as tmp:
            make_manifest(os.path.join(tmp, "d"), n=3)
            export_bundle(model, os.path.join(tmp, "b"), make_card(cfg, "t"))
            ds = AVManifestDataset(os.path.join(tmp, "d"), cfg, "eval")
            hb = heatmaps_from_bundle(os.path.join(tmp, "b"), ds)
            hp = heatmaps_from_checkpoint(model, ds)
        self.assertEqual(tuple(hb.shape), (3, 7, 7))
        self.assertLess(float((hb - hp).abs().max()), 1e-4)
