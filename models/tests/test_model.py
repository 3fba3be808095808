import unittest

import torch

from helpers import MODELS_DIR  # noqa: F401
from avloc_toolkit.config import AVINConfig, make_config
from avloc_toolkit.model import AVIN, centred_features, heatmap


class FullSize(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.m = AVIN().eval()

    def test_default_is_avin_rn(self):
        c = AVINConfig()
        self.assertEqual((c.image_size, c.grid, c.embed_dim, c.sample_rate), (224, 14, 512, 32000))
        self.assertEqual((c.n_fft, c.hop_length, c.n_mels, c.fmin, c.fmax), (1024, 320, 64, 50.0, 14000.0))
        n_vis = sum(p.numel() for p in self.m.v_encoder.parameters())
        self.assertEqual(n_vis, 11176512)                      # torchvision ResNet-18 minus fc (513000)
        self.assertEqual(tuple(self.m.a_proj.fc1.weight.shape), (512, 2048))
        self.assertEqual(tuple(self.m.a_encoder.fc1.weight.shape), (2048, 2048))

    def test_shapes_batch_one(self):
        with torch.no_grad():
            f = self.m.features(torch.randn(1, 3, 224, 224))
            e = self.m.embedding(torch.randn(1, 32000) * 0.1)
        self.assertEqual(tuple(f.shape), (1, 512, 14, 14))
        self.assertEqual(tuple(e.shape), (1, 512))
        self.assertTrue(torch.allclose(f.norm(dim=1), torch.ones(1, 14, 14), atol=1e-5))
        self.assertTrue(torch.allclose(e.norm(dim=1), torch.ones(1), atol=1e-5))
        h = heatmap(f, e)
        self.assertEqual(tuple(h.shape), (1, 14, 14))
        self.assertTrue(float(h.abs().max()) <= 1.0 + 1e-5)


class Variants(unittest.TestCase):
    def test_tiny(self):
        cfg = make_config("tiny")
        self.assertEqual((cfg.image_size, cfg.grid, cfg.embed_dim, cfg.sample_rate, cfg.window_samples),
                         (112, 7, 32, 16000, 16000))
        m = AVIN(cfg).eval()
        with torch.no_grad():
            avmap = m(torch.randn(2, 3, 112, 112), torch.randn(2, 16000) * 0.1, mode="test")
        self.assertEqual(tuple(avmap.shape), (2, 7, 7))

    def test_train_mode_keeps_audio_encoder_in_eval(self):
        m = AVIN(make_config("tiny")).train()
        self.assertTrue(m.v_encoder.training)
        self.assertFalse(m.a_encoder.training)
        lc, ld = m(torch.randn(3, 3, 112, 112), torch.randn(3, 16000) * 0.1, mode="train")
        (lc + ld).backward()
        self.assertIsNotNone(m.v_proj.weight.grad)
        self.assertIsNotNone(m.a_proj.fc1.weight.grad)
        self.assertIsNone(m.a_encoder.fc1.weight.grad)

    def test_unfrozen_audio_trains_but_front_end_stays_fixed(self):
        m = AVIN(make_config("tiny"), freeze_audio=False).train()
        self.assertTrue(m.a_encoder.training)
        self.assertTrue(m.a_encoder.fc1.weight.requires_grad)
        self.assertFalse(m.a_encoder.logmel_extractor.melW.requires_grad)
        self.assertFalse(m.a_encoder.spectrogram_extractor.stft.conv_real.weight.requires_grad)

    def test_config_roundtrip(self):
        c = make_config("small", image_size=128)
        self.assertEqual(AVINConfig.from_dict(c.to_dict()), c)
        self.assertEqual(c.grid, 8)


if __name__ == "__main__":
    unittest.main()


class Centering(unittest.TestCase):
    def test_zero_is_the_official_features(self):
        fv = torch.randn(2, 8, 5, 5)
        torch.testing.assert_close(centred_features(fv, 0.0), torch.nn.functional.normalize(fv, dim=1))

    def test_one_ignores_what_every_cell_shares(self):
        # centering 1 subtracts the frame's mean cell: a vector added to every cell changes nothing
        fv = torch.randn(2, 8, 5, 5)
        shared = 3.0 * torch.randn(2, 8, 1, 1)
        torch.testing.assert_close(centred_features(fv + shared, 1.0), centred_features(fv, 1.0), atol=1e-5, rtol=0)
        self.assertFalse(torch.allclose(centred_features(fv + shared, 0.0), centred_features(fv, 0.0), atol=1e-3))

    def test_model_features_use_the_config(self):
        cfg = make_config("tiny", feature_centering=1.5)
        torch.manual_seed(0)
        model = AVIN(cfg).eval()
        img = torch.randn(1, 3, cfg.image_size, cfg.image_size)
        with torch.no_grad():
            expect = centred_features(model.visual_map(img), 1.5)
            torch.testing.assert_close(model.features(img), expect)
            self.assertEqual(AVINConfig.from_dict(cfg.to_dict()).feature_centering, 1.5)
