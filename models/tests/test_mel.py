import math
import unittest

import numpy as np

from helpers import MODELS_DIR  # noqa: F401
from avloc_toolkit.mel import (hz_to_mel, mel_to_hz, periodic_hann, slaney_mel_filterbank,
                               stft_kernels)


class SlaneyScale(unittest.TestCase):
    def test_anchor_points(self):
        # linear part: 200/3 Hz per mel; 1 kHz = 15 mel; log part: 27 mel per factor 6.4
        self.assertAlmostEqual(float(hz_to_mel(0.0)), 0.0)
        self.assertAlmostEqual(float(hz_to_mel(500.0)), 7.5)
        self.assertAlmostEqual(float(hz_to_mel(1000.0)), 15.0)
        self.assertAlmostEqual(float(hz_to_mel(6400.0)), 42.0, places=10)
        self.assertAlmostEqual(float(mel_to_hz(42.0)), 6400.0, places=7)
        self.assertAlmostEqual(float(mel_to_hz(28.5)), math.sqrt(1000.0 * 6400.0), places=7)

    def test_roundtrip(self):
        f = np.array([20.0, 50.0, 999.0, 1000.0, 1001.0, 8000.0, 14000.0, 16000.0])
        np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, rtol=1e-12)


class SlaneyFilterbank(unittest.TestCase):
    def test_linear_region_by_hand(self):
        # sr 8000, n_fft 32 -> bins every 250 Hz; one filter on mel points 0, 7.5, 15 = 0, 500, 1000 Hz;
        # triangle 0 -> 1 at 500 -> 0 at 1000, Slaney height 2 / (1000 - 0)
        w = slaney_mel_filterbank(8000, 32, 1, fmin=0.0, fmax=1000.0)
        self.assertEqual(w.shape, (1, 17))
        self.assertEqual(w.dtype, np.float32)
        expect = np.zeros(17)
        expect[1:4] = [0.5 * 0.002, 0.002, 0.5 * 0.002]
        np.testing.assert_allclose(w[0], expect, atol=1e-9)

    def test_log_region_by_hand(self):
        # sr 16000, n_fft 64 -> bins every 250 Hz; mel points 15, 28.5, 42 = 1000, sqrt(6.4e6), 6400 Hz
        c = math.sqrt(6.4e6)
        w = slaney_mel_filterbank(16000, 64, 1, fmin=1000.0, fmax=6400.0)[0]
        h = 2.0 / (6400.0 - 1000.0)
        for k, f in enumerate(np.arange(33) * 250.0):
            if f <= 1000.0 or f >= 6400.0:
                e = 0.0
            elif f <= c:
                e = (f - 1000.0) / (c - 1000.0) * h
            else:
                e = (6400.0 - f) / (6400.0 - c) * h
            self.assertAlmostEqual(float(w[k]), e, delta=1e-9, msg=f"bin {k} ({f} Hz)")

    def test_panns_filterbank_properties(self):
        w = slaney_mel_filterbank(32000, 1024, 64, 50.0, 14000.0)
        self.assertEqual(w.shape, (64, 513))
        self.assertTrue((w >= 0).all())
        self.assertTrue((w.max(1) > 0).all(), "no empty filter")
        # area normalisation: sum(weights) * bin width ~= 1 for filters much wider than a bin
        df = 32000 / 1024
        areas = w.sum(1) * df
        np.testing.assert_allclose(areas[20:], 1.0, rtol=0.02)
        # filter centres are increasing and each filter peaks at a single bin near its centre
        self.assertTrue((np.diff(w.argmax(1)) >= 0).all())


class StftKernels(unittest.TestCase):
    def test_periodic_hann(self):
        from scipy.signal import get_window
        np.testing.assert_allclose(periodic_hann(1024), get_window("hann", 1024, fftbins=True), atol=1e-15)

    def test_kernels_are_windowed_dft(self):
        n = 16
        real, imag = stft_kernels(n)
        self.assertEqual(real.shape, (9, 1, 16))
        x = np.random.default_rng(0).standard_normal(n)
        X = np.fft.rfft(x * periodic_hann(n))
        np.testing.assert_allclose(real[:, 0, :] @ x, X.real, atol=1e-5)
        np.testing.assert_allclose(imag[:, 0, :] @ x, X.imag, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
