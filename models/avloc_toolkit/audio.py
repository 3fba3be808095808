"""Audio encoder: PANNs ResNet22 on raw waveform with its log-mel front end inside.

Structure and parameter names follow the official ``models/audnet.py`` (itself PANNs):
spectrogram_extractor -> logmel_extractor -> bn0 (over mel bins) -> conv_block1 (avg-pool 2x2)
-> resnet (layer1..4, strides 1,2,2,2, avg-pool downsampling) -> avg-pool 2x2
-> conv_block_after1 -> mean over frequency -> max + mean over time -> fc1 + ReLU.
Widths/depths and the front-end numbers are configurable; the defaults are ResNet22 @ 32 kHz.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .frontend import LogmelFilterBank, Spectrogram


def init_layer(layer: nn.Module) -> None:
    nn.init.xavier_uniform_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        layer.bias.data.fill_(0.0)


def init_bn(bn: nn.BatchNorm2d) -> None:
    bn.bias.data.fill_(0.0)
    bn.weight.data.fill_(1.0)


class ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.bn2 = nn.BatchNorm2d(cout)
        init_layer(self.conv1)
        init_layer(self.conv2)
        init_bn(self.bn1)
        init_bn(self.bn2)

    def forward(self, x: torch.Tensor, pool_size=(2, 2)) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        if tuple(pool_size) != (1, 1):
            x = F.avg_pool2d(x, kernel_size=pool_size)
        return x


class ResnetBasicBlock(nn.Module):
    """PANNs block: stride 2 is an avg-pool 2x2 before conv1; dropout 0.1 between convs."""

    def __init__(self, cin: int, cout: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = downsample
        init_layer(self.conv1)
        init_bn(self.bn1)
        init_layer(self.conv2)
        init_bn(self.bn2)
        nn.init.constant_(self.bn2.weight, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = F.avg_pool2d(x, kernel_size=(2, 2)) if self.stride == 2 else x
        out = self.relu(self.bn1(self.conv1(out)))
        out = F.dropout(out, p=0.1, training=self.training)
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(identity)
        return self.relu(out + identity)


class PannsResNet(nn.Module):
    def __init__(self, cin: int, widths: Sequence[int], blocks: Sequence[int],
                 strides: Sequence[int] = (1, 2, 2, 2)):
        super().__init__()
        for i, (w, n, s) in enumerate(zip(widths, blocks, strides)):
            down = None
            if s != 1 or cin != w:
                if s == 1:
                    down = nn.Sequential(nn.Conv2d(cin, w, 1, bias=False), nn.BatchNorm2d(w))
                    init_layer(down[0])
                    init_bn(down[1])
                else:
                    down = nn.Sequential(nn.AvgPool2d(kernel_size=2),
                                         nn.Conv2d(cin, w, 1, bias=False), nn.BatchNorm2d(w))
                    init_layer(down[1])
                    init_bn(down[2])
            layers = [ResnetBasicBlock(cin, w, s, down)] + [ResnetBasicBlock(w, w) for _ in range(1, n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
            cin = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ResNet22(nn.Module):
    def __init__(self, sample_rate: int = 32000, n_fft: int = 1024, hop_length: int = 320,
                 n_mels: int = 64, fmin: float = 50.0, fmax: float = 14000.0,
                 widths: Sequence[int] = (64, 128, 256, 512), blocks: Sequence[int] = (2, 2, 2, 2),
                 embed: int = 2048):
        super().__init__()
        self.spectrogram_extractor = Spectrogram(n_fft, hop_length)
        self.logmel_extractor = LogmelFilterBank(sample_rate, n_fft, n_mels, fmin, fmax,
                                                 ref=1.0, amin=1e-10)
        self.bn0 = nn.BatchNorm2d(n_mels)
        self.conv_block1 = ConvBlock(1, widths[0])
        self.resnet = PannsResNet(widths[0], widths, blocks)
        self.conv_block_after1 = ConvBlock(widths[-1], embed)
        self.fc1 = nn.Linear(embed, embed)
        init_bn(self.bn0)
        init_layer(self.fc1)

    def logmel(self, waveform: torch.Tensor) -> torch.Tensor:
        """[B, T] -> [B, 1, frames, n_mels] (before bn0)."""
        return self.logmel_extractor(self.spectrogram_extractor(waveform))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        x = self.logmel(waveform)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        x = self.conv_block1(x, pool_size=(2, 2))
        x = F.dropout(x, p=0.2, training=self.training)
        x = self.resnet(x)
        x = F.avg_pool2d(x, kernel_size=(2, 2))
        x = F.dropout(x, p=0.2, training=self.training)
        x = self.conv_block_after1(x, pool_size=(1, 1))
        x = F.dropout(x, p=0.2, training=self.training)
        x = torch.mean(x, dim=3)
        x = torch.max(x, dim=2)[0] + torch.mean(x, dim=2)
        x = F.dropout(x, p=0.5, training=self.training)
        x = F.relu(self.fc1(x))
        return F.dropout(x, p=0.5, training=self.training)
