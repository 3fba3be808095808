import os
import tempfile
import unittest

import numpy as np
import torch

from helpers import make_manifest
from avloc_toolkit.config import make_config
from avloc_toolkit.data import AVManifestDataset, boxes_to_gt, load_audio, take_window


class Windows(unittest.TestCase):
    def test_take_window(self):
        x = np.arange(1, 11, dtype=np.float32)
        np.testing.assert_array_equal(take_window(x, 4, 3), [4, 5, 6, 7])
        np.testing.assert_array_equal(take_window(x, 4, -2), [0, 0, 1, 2])       # left zero-pad
        np.testing.assert_array_equal(take_window(x, 4, 8), [9, 10, 0, 0])

    def test_boxes_to_gt(self):
        gt = boxes_to_gt([[0, 0, 50, 100], [150, 150, 400, 400]], width=200, height=200, size=224)
        # box 1 -> x 0..56, y 0..112; box 2 clipped -> x,y 168..224
        self.assertEqual(gt.shape, (224, 224))
        self.assertEqual(gt.sum(), 56 * 112 + 56 * 56)
        self.assertEqual(gt[111, 55], 1)
        self.assertEqual(gt[112, 55], 0)
        self.assertEqual(boxes_to_gt(None, 10, 10).sum(), 0)


class Manifest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.lines = make_manifest(cls.tmp.name, n=4, size=(96, 80), sr=22050, seconds=1.5)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_load_audio_resamples_and_downmixes(self):
        x = load_audio(os.path.join(self.tmp.name, "wav", "0.wav"), 16000)
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(len(x), 24000)
        spec = np.abs(np.fft.rfft(x))
        self.assertAlmostEqual(np.argmax(spec) * 16000 / len(x), 220.0, delta=2.0)
        self.assertAlmostEqual(float(np.abs(x).max()), 0.3, delta=0.01)

    def test_eval_items(self):
        cfg = make_config("tiny")
        ds = AVManifestDataset(self.tmp.name, cfg, "eval")
        it = ds[0]
        self.assertEqual(tuple(it["image"].shape), (3, 112, 112))
        self.assertEqual(tuple(it["image_u8"].shape), (112, 112, 3))
        self.assertEqual(it["image_u8"].dtype, torch.uint8)
        self.assertEqual(tuple(it["waveform"].shape), (16000,))
        self.assertEqual(tuple(it["gt"].shape), (224, 224))
        x0, y0, x1, y1 = self.lines[0]["boxes"][0]
        self.assertEqual(float(it["gt"].sum()), float(boxes_to_gt([[x0, y0, x1, y1]], 96, 80).sum()))
        # centred window of the 1.5 s clip: starts at 0.25 s
        full = load_audio(os.path.join(self.tmp.name, "wav", "0.wav"), 16000)
        np.testing.assert_array_equal(it["waveform"].numpy(), full[4000:20000])
        last = AVManifestDataset(self.tmp.name, cfg, "eval", eval_window="last")[0]["waveform"].numpy()
        np.testing.assert_array_equal(last, full[-16000:])

    def test_train_items_are_random_crops(self):
        cfg = make_config("tiny")
        ds = AVManifestDataset(self.tmp.name, cfg, "train", seed=3)
        a, b = ds[1], ds[1]
        self.assertEqual(tuple(a["image"].shape), (3, 112, 112))
        self.assertEqual(tuple(a["waveform"].shape), (16000,))
        self.assertNotIn("gt", a)
        self.assertFalse(torch.equal(a["waveform"], b["waveform"]) and torch.equal(a["image"], b["image"]))

    def test_short_clip_is_left_padded(self):
        cfg = make_config("tiny", window_seconds=2.0)
        w = AVManifestDataset(self.tmp.name, cfg, "eval")[0]["waveform"].numpy()
        self.assertEqual(len(w), 32000)
        self.assertTrue((w[:8000] == 0).all())
        self.assertTrue(np.abs(w[-100:]).max() > 0)


if __name__ == "__main__":
    unittest.main()
