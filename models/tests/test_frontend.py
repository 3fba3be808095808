import unittest

import numpy as np
import torch

from helpers import MODELS_DIR  # noqa: F401
from avloc_toolkit.frontend import LogmelFilterBank, Spectrogram
from avloc_toolkit.mel import periodic_hann, slaney_mel_filterbank


def numpy_logmel(x, sr, n_fft, hop, n_mels, fmin, fmax):
    """Independent float64 reference of torchlibrosa Spectrogram + LogmelFilterBank (= librosa)."""
    xp = np.pad(x, (n_fft // 2, n_fft // 2), mode="reflect")
    frames = 1 + (len(xp) - n_fft) // hop
    win = periodic_hann(n_fft)
    spec = np.stack([np.abs(np.fft.rfft(xp[t * hop:t * hop + n_fft] * win)) ** 2 for t in range(frames)])
    mel = spec @ slaney_mel_filterbank(sr, n_fft, n_mels, fmin, fmax).T.astype(np.float64)
    return spec, 10.0 * np.log10(np.maximum(mel, 1e-10))


class FrontEnd(unittest.TestCase):
    def check(self, sr, n_fft, hop, n_mels, fmin, fmax, seconds):
        rng = np.random.default_rng(1)
        t = np.arange(int(sr * seconds)) / sr
        x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(len(t))).astype(np.float32)
        spec_m = Spectrogram(n_fft, hop)
        mel_m = LogmelFilterBank(sr, n_fft, n_mels, fmin, fmax)
        with torch.no_grad():
            p = spec_m(torch.from_numpy(x)[None])
            lm = mel_m(p)
        ref_p, ref_lm = numpy_logmel(x.astype(np.float64), sr, n_fft, hop, n_mels, fmin, fmax)
        self.assertEqual(tuple(p.shape), (1, 1, 1 + len(x) // hop, n_fft // 2 + 1))
        self.assertEqual(tuple(lm.shape), (1, 1, 1 + len(x) // hop, n_mels))
        p = p[0, 0].double().numpy()
        scale = ref_p.max()
        self.assertLess(np.abs(p - ref_p).max() / scale, 1e-5)
        self.assertLess(np.abs(lm[0, 0].double().numpy() - ref_lm).max(), 2e-3)   # dB

    def test_panns_32k(self):
        self.check(32000, 1024, 320, 64, 50.0, 14000.0, 1.0)

    def test_tiny_16k(self):
        self.check(16000, 256, 160, 32, 50.0, 8000.0, 1.0)

    def test_silence_hits_amin(self):
        m = LogmelFilterBank(16000, 256, 32, 50.0, 8000.0)
        out = m(torch.zeros(1, 1, 3, 129))
        self.assertTrue(torch.allclose(out, torch.full_like(out, -100.0)))

    def test_frontend_is_frozen(self):
        self.assertFalse(any(p.requires_grad for p in Spectrogram(64, 16).parameters()))
        self.assertFalse(LogmelFilterBank(16000, 64, 8, 0.0, 8000.0).melW.requires_grad)


if __name__ == "__main__":
    unittest.main()
