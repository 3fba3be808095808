import os
import tempfile
import unittest

import onnx
import torch
import torch.nn as nn

from helpers import MODELS_DIR  # noqa: F401
from avloc_toolkit.config import make_config, AVINConfig
from avloc_toolkit.convert import (convert, load_official, official_to_toolkit_state,
                                   toolkit_to_official_state)
from avloc_toolkit.model import AVIN, AudioProj
from avloc_toolkit.audio import ResNet22
from avloc_toolkit.visual import VisualResNet


class DDPLike(nn.Module):
    """Stands in for DistributedDataParallel: it keeps the wrapped module as .module."""

    def __init__(self, m):
        super().__init__()
        self.module = m


class OfficialLike(nn.Module):
    """The module tree of official main.py after its wrapping loop: trainable submodules in DDP,
    the frozen a_encoder and the parameter-free gap as they are."""

    def __init__(self, cfg: AVINConfig):
        super().__init__()
        self.v_encoder = DDPLike(VisualResNet(cfg.visual_widths, cfg.visual_blocks, cfg.visual_strides))
        self.a_encoder = ResNet22(cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels, cfg.fmin, cfg.fmax,
                                  cfg.audio_widths, cfg.audio_blocks, cfg.audio_embed)
        self.v_proj = DDPLike(nn.Conv2d(cfg.visual_widths[-1], cfg.embed_dim, 1, bias=False))
        self.a_proj = DDPLike(AudioProj(cfg.audio_embed, cfg.proj_hidden, cfg.embed_dim))
        self.gap = nn.AdaptiveAvgPool2d(1)


def randomize(m: nn.Module, seed: int):
    g = torch.Generator().manual_seed(seed)
    for n, t in m.state_dict().items():
        if t.dtype.is_floating_point and "stft" not in n and "melW" not in n:
            if "running_var" in n:
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            else:
                t.copy_(0.05 * torch.randn(t.shape, generator=g))


class OfficialLayout(unittest.TestCase):
    def test_full_size_key_layout(self):
        sd = OfficialLike(AVINConfig()).state_dict()
        self.assertEqual(len(sd), 271)
        # keys as the official code produces them (models/resnet.py, models/audnet.py, avmodels.py)
        for k, shape in [("v_encoder.module.conv1.weight", (64, 3, 7, 7)),
                         ("v_encoder.module.layer4.0.downsample.0.weight", (512, 256, 1, 1)),
                         ("v_encoder.module.layer4.1.bn2.num_batches_tracked", ()),
                         ("v_proj.module.weight", (512, 512, 1, 1)),
                         ("a_proj.module.fc1.weight", (512, 2048)),
                         ("a_proj.module.fc2.weight", (512, 512)),
                         ("a_encoder.spectrogram_extractor.stft.conv_real.weight", (513, 1, 1024)),
                         ("a_encoder.spectrogram_extractor.stft.conv_imag.weight", (513, 1, 1024)),
                         ("a_encoder.logmel_extractor.melW", (513, 64)),
                         ("a_encoder.bn0.running_mean", (64,)),
                         ("a_encoder.conv_block1.conv1.weight", (64, 1, 3, 3)),
                         ("a_encoder.resnet.layer2.0.downsample.1.weight", (128, 64, 1, 1)),
                         ("a_encoder.resnet.layer2.0.downsample.2.running_var", (128,)),
                         ("a_encoder.resnet.layer4.1.conv2.weight", (512, 512, 3, 3)),
                         ("a_encoder.conv_block_after1.conv2.weight", (2048, 2048, 3, 3)),
                         ("a_encoder.fc1.bias", (2048,))]:
            self.assertIn(k, sd)
            self.assertEqual(tuple(sd[k].shape), shape, k)
        self.assertFalse(any(k.startswith("v_encoder.module.fc") for k in sd))
        self.assertFalse(any(k.startswith("a_encoder.module") for k in sd))
        # the mapping is a bijection onto the toolkit's own state_dict
        mine = AVIN().state_dict()
        self.assertEqual(set(official_to_toolkit_state(sd)), set(mine))
        self.assertEqual(set(toolkit_to_official_state(mine)), set(sd))

    def test_whole_model_ddp_prefix_also_accepted(self):
        sd = {"module.v_encoder.conv1.weight": torch.zeros(1)}
        self.assertEqual(list(official_to_toolkit_state(sd)), ["v_encoder.conv1.weight"])

    def test_convert_to_bundle_matches_original(self):
        cfg = make_config("tiny")
        torch.manual_seed(0)
        off = OfficialLike(cfg)
        randomize(off, 1)
        with tempfile.TemporaryDirectory() as tmp:
            ck = os.path.join(tmp, "best.pth")
            torch.save(off.state_dict(), ck)
            model, cfg2, fc = load_official(ck, base=cfg)
            self.assertEqual(cfg2, cfg)
            self.assertLess(max(fc.values()), 1e-6)
            img = torch.randn(2, 3, 112, 112)
            wav = torch.randn(2, 16000) * 0.1
            off.eval()
            with torch.no_grad():
                # reference built from the official-layout modules directly
                fv = off.v_proj.module(off.v_encoder.module(img))
                fa = off.a_proj.module(off.a_encoder(wav))
                ref = (nn.functional.normalize(fv, dim=1) * nn.functional.normalize(fa, dim=1)[:, :, None, None]).sum(1)
                got = model(img, wav, mode="test")
            self.assertTrue(torch.allclose(got, ref, atol=1e-6))
            out = os.path.join(tmp, "bundle")
            card = convert(ck, out, name="conv-test", base=cfg, license="test")
            self.assertEqual(card["visual"]["grid"], [7, 7])
            self.assertEqual(card["audio"]["sampleRate"], 16000)
            for f in ("model.json", "visual.onnx", "audio.onnx"):
                self.assertTrue(os.path.exists(os.path.join(out, f)))
            self.assertEqual(onnx.load(os.path.join(out, "audio.onnx")).opset_import[0].version, 17)

    def test_mismatched_checkpoint_is_rejected(self):
        sd = toolkit_to_official_state(AVIN(make_config("tiny")).state_dict())
        del sd["a_proj.module.fc2.weight"]
        with self.assertRaises(KeyError):
            load_official(sd, base=make_config("tiny"))


if __name__ == "__main__":
    unittest.main()
