"""Visual encoder: torchvision-style ResNet (BasicBlock) without avgpool/fc.

AVIN-RN uses ResNet-18 with layer4 stride 1, so a 224x224 image gives a 14x14x512 map.
Parameter names match the official ``models/resnet.py`` (conv1, bn1, layer1..4,
``downsample.0/1``), hence also torchvision's ImageNet weights minus ``fc``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class VisualResNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (64, 128, 256, 512),
                 blocks: Sequence[int] = (2, 2, 2, 2), strides: Sequence[int] = (1, 2, 2, 1)):
        super().__init__()
        stem = widths[0]
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        cin = stem
        for i, (w, n, s) in enumerate(zip(widths, blocks, strides)):
            down = None
            if s != 1 or cin != w:
                down = nn.Sequential(conv1x1(cin, w, s), nn.BatchNorm2d(w))
            layers = [BasicBlock(cin, w, s, down)] + [BasicBlock(w, w) for _ in range(1, n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
            cin = w
        self.out_channels = cin
        # official init (resnet.py): kaiming_normal fan_out for convs, BN weight 1 bias 0
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)
