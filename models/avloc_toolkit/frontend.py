"""Log-mel front end as torch modules, with torchlibrosa's parameter names.

``Spectrogram`` holds ``stft.conv_real`` / ``stft.conv_imag`` (STFT as Conv1d) and
``LogmelFilterBank`` holds ``melW``, so a PANNs / AVIN state_dict loads into them unchanged.
Both export to ONNX opset 17 as Pad(reflect) + Conv + MatMul + Log.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mel import slaney_mel_filterbank, stft_kernels


class STFT(nn.Module):
    def __init__(self, n_fft: int, hop_length: int, center: bool = True, pad_mode: str = "reflect"):
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.center = center
        self.pad_mode = pad_mode
        n_out = n_fft // 2 + 1
        self.conv_real = nn.Conv1d(1, n_out, n_fft, stride=hop_length, bias=False)
        self.conv_imag = nn.Conv1d(1, n_out, n_fft, stride=hop_length, bias=False)
        real, imag = stft_kernels(n_fft)
        with torch.no_grad():
            self.conv_real.weight.copy_(torch.from_numpy(real))
            self.conv_imag.weight.copy_(torch.from_numpy(imag))
        for p in self.parameters():
            p.requires_grad = False

    def forward(self, x: torch.Tensor):
        """x [B, T] -> real, imag [B, 1, frames, n_fft//2+1]"""
        x = x[:, None, :]
        if self.center:
            x = F.pad(x, (self.n_fft // 2, self.n_fft // 2), mode=self.pad_mode)
        real = self.conv_real(x)[:, None, :, :].transpose(2, 3)
        imag = self.conv_imag(x)[:, None, :, :].transpose(2, 3)
        return real, imag


class Spectrogram(nn.Module):
    """Power spectrogram (power = 2): real^2 + imag^2."""

    def __init__(self, n_fft: int, hop_length: int):
        super().__init__()
        self.stft = STFT(n_fft, hop_length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        real, imag = self.stft(x)
        return real ** 2 + imag ** 2


class LogmelFilterBank(nn.Module):
    """Mel projection then 10*log10(max(x, amin)) - 10*log10(max(amin, ref)); top_db None."""

    def __init__(self, sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float,
                 ref: float = 1.0, amin: float = 1e-10):
        super().__init__()
        self.ref = ref
        self.amin = amin
        melW = slaney_mel_filterbank(sr, n_fft, n_mels, fmin, fmax).T.copy()   # [freq, mels]
        self.melW = nn.Parameter(torch.from_numpy(melW), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(x, self.melW)
        log_spec = 10.0 * torch.log10(torch.clamp(mel, min=self.amin))
        offset = 10.0 * math.log10(max(self.amin, self.ref))
        if offset != 0.0:
            log_spec = log_spec - offset
        return log_spec
