"""Slaney mel scale and filterbank, written from the definitions (no librosa).

Matches ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney')``
(the filterbank torchlibrosa's ``LogmelFilterBank`` stores as ``melW``; PANNs weights were
trained against it), including librosa's float32 storage of the weights.

Slaney scale: linear below 1 kHz (200/3 Hz per mel, so 1000 Hz = 15 mel) and logarithmic
above it (27 mel per factor 6.4, so 6400 Hz = 42 mel).
"""
from __future__ import annotations

import math

import numpy as np

_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP          # 15
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    lin = f / _F_SP
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    lin = _F_SP * m
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


def mel_frequencies(n: int, fmin: float, fmax: float) -> np.ndarray:
    """n frequencies (Hz) equally spaced on the Slaney mel scale from fmin to fmax."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n))


def fft_frequencies(sr: float, n_fft: int) -> np.ndarray:
    return np.arange(n_fft // 2 + 1, dtype=np.float64) * (float(sr) / n_fft)


def slaney_mel_filterbank(sr: float, n_fft: int, n_mels: int, fmin: float = 0.0,
                          fmax: float | None = None) -> np.ndarray:
    """Triangular filters, area-normalised (Slaney). Shape [n_mels, n_fft//2+1], float32."""
    if fmax is None:
        fmax = sr / 2.0
    fftfreqs = fft_frequencies(sr, n_fft)
    mel_f = mel_frequencies(n_mels + 2, fmin, fmax)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, n_fft // 2 + 1), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, None]          # float64 product stored back as float32, as librosa does
    return weights


def periodic_hann(n: int) -> np.ndarray:
    """scipy.signal.get_window('hann', n, fftbins=True): 0.5 - 0.5 cos(2 pi k / n)."""
    k = np.arange(n, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)


def stft_kernels(n_fft: int):
    """Windowed DFT rows as conv1d kernels, [n_fft//2+1, 1, n_fft] each (real, imag).

    real[k, m] = w[m] cos(2 pi k m / n), imag[k, m] = -w[m] sin(2 pi k m / n), i.e. the
    e^{-i...} DFT used by librosa.stft / torchlibrosa.STFT.
    """
    w = periodic_hann(n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    m = np.arange(n_fft)[None, :]
    phase = 2.0 * np.pi * ((k * m) % n_fft) / n_fft
    real = (np.cos(phase) * w[None, :]).astype(np.float32)[:, None, :]
    imag = (-np.sin(phase) * w[None, :]).astype(np.float32)[:, None, :]
    return real, imag
