"""AVIN (Induction Network) model: visual ResNet + 1x1 projection, PANNs ResNet22 + MLP.

Submodule names match the official AVIN-RN ``AVIN`` class (v_encoder, a_encoder, v_proj,
a_proj), so an official state_dict loads after stripping DDP's ``module.`` (see convert.py).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .audio import ResNet22
from .config import AVINConfig
from .losses import avin_losses
from .visual import VisualResNet



class AudioProj(nn.Module):
    def __init__(self, cin: int = 2048, hidden: int = 512, cout: int = 512):
        super().__init__()
        self.fc1 = nn.Linear(cin, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, cout, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(x)))


class VisualClassHead(nn.Module):
    """Cell class logits z [B, K+1, h, w] (a 1x1 conv), put on the unit sphere without losing
    their scale: u = z / scale (shrunk onto the ball where |u| > 1) plus one channel sqrt(1 - |u|^2).
    Every cell is then a unit vector whose first K+1 components are its logits / scale, so its
    cosine with a class distribution q padded with a zero is sum_k q_k z_k / (scale |q|): the
    contract's heatmap (docs/MODEL_CONTRACT.md) becomes the linear class-logit map, which covers
    an object's extent, where a softmax map only lights its most certain cells."""

    def __init__(self, cin: int, n_classes: int):
        super().__init__()
        self.proj = nn.Conv2d(cin, n_classes, 1, bias=True)
        self.register_buffer("scale", torch.ones(()))     # set from the training cells (set_scale)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.proj(x) / self.scale
        u = u / u.norm(dim=1, keepdim=True).clamp_min(1.0)
        rest = (1.0 - (u * u).sum(1, keepdim=True)).clamp_min(0.0).sqrt()
        return torch.cat([u, rest], 1)


class AudioClassHead(nn.Module):
    """Clip class logits [B, K+1] (AVIN's MLP); forward = their softmax with a zero appended, the
    partner of VisualClassHead's extra channel."""

    def __init__(self, cin: int, hidden: int, n_classes: int):
        super().__init__()
        self.proj = AudioProj(cin, hidden, n_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.softmax(self.proj(x), dim=1)
        return torch.cat([q, torch.zeros_like(q[:, :1])], 1)


def visual_encoder(cfg: AVINConfig) -> nn.Module:
    """AVIN-RN's ResNet, or a pretrained trunk from an npm package (trunks.py) when the config names one."""
    if cfg.visual_trunk:
        from .trunks import PretrainedTrunk
        return PretrainedTrunk(cfg.visual_trunk, cfg.visual_cut, cfg.image_size, cfg.visual_pool)
    return VisualResNet(cfg.visual_widths, cfg.visual_blocks, cfg.visual_strides)


class AVIN(nn.Module):
    def __init__(self, cfg: AVINConfig | None = None, freeze_audio: bool = True):
        super().__init__()
        self.cfg = cfg = cfg or AVINConfig()
        self.v_encoder = visual_encoder(cfg)
        self.a_encoder = ResNet22(cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels,
                                  cfg.fmin, cfg.fmax, cfg.audio_widths, cfg.audio_blocks,
                                  cfg.audio_embed)
        if cfg.proj_kind == "classes":     # embed_dim = K + 1 classes (background first) + 1
            self.v_proj = VisualClassHead(self.v_encoder.out_channels, cfg.embed_dim - 1)
            self.a_proj = AudioClassHead(cfg.audio_embed, cfg.proj_hidden, cfg.embed_dim - 1)
        elif cfg.proj_kind == "embedding":
            self.v_proj = nn.Conv2d(self.v_encoder.out_channels, cfg.embed_dim, 1, bias=cfg.visual_proj_bias)
            self.a_proj = AudioProj(cfg.audio_embed, cfg.proj_hidden, cfg.embed_dim)
        else:
            raise ValueError(f"unknown proj_kind {cfg.proj_kind!r}")
        self.gap = nn.AdaptiveAvgPool2d(1)
        # Official: the (PANNs-pretrained) audio encoder is frozen and always in eval mode.
        self.freeze_audio = freeze_audio
        if freeze_audio:
            for p in self.a_encoder.parameters():
                p.requires_grad = False
        else:   # the front end stays fixed in any case
            for p in self.a_encoder.spectrogram_extractor.parameters():
                p.requires_grad = False
            self.a_encoder.logmel_extractor.melW.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_audio:
            self.a_encoder.eval()
        return self

    # ---- pieces -------------------------------------------------------------------------
    def audio_vector(self, waveform: torch.Tensor) -> torch.Tensor:
        """[B, T] float waveform -> fa [B, C] (not normalised)."""
        return self.a_proj(self.a_encoder(waveform).flatten(1))

    def visual_map(self, image: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] ImageNet-normalised image -> fv_map [B, C, h, w] (not normalised)."""
        return self.v_proj(self.v_encoder(image))

    def features(self, image: torch.Tensor) -> torch.Tensor:
        return centred_features(self.visual_map(image), self.cfg.feature_centering)

    def embedding(self, waveform: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio_vector(waveform), dim=1, p=2)

    # ---- official entry point ------------------------------------------------------------
    def forward(self, v_inputs: torch.Tensor, a_inputs: torch.Tensor, mode: str = "train"):
        """mode 'train' -> (contrastive loss, distance loss); otherwise avmap [B, h, w]."""
        fa = self.audio_vector(a_inputs)
        fv_map = self.visual_map(v_inputs)
        if mode == "train":
            c = self.cfg
            return avin_losses(fv_map, fa, c.tp, c.tn, c.ts, c.tc, c.margin)
        return heatmap(centred_features(fv_map, self.cfg.feature_centering), F.normalize(fa, dim=1, p=2))

    def param_groups(self, lr_visual: float = 1e-5, lr_proj: float = 1e-4):
        """Official per-group learning rates (main.py create_optimizer)."""
        groups = [
            {"params": list(self.v_encoder.parameters()), "lr": lr_visual, "name": "v_encoder"},
            {"params": list(self.v_proj.parameters()), "lr": lr_proj, "name": "v_proj"},
            {"params": list(self.a_proj.parameters()), "lr": lr_proj, "name": "a_proj"},
        ]
        if not self.freeze_audio:
            groups.append({"params": [p for p in self.a_encoder.parameters() if p.requires_grad],
                           "lr": lr_visual, "name": "a_encoder"})
        return groups


def create_optimizer(model: AVIN, lr_visual: float = 1e-5, lr_proj: float = 1e-4,
                     weight_decay: float = 1e-4) -> torch.optim.Adam:
    """Adam(betas 0.9/0.999, weight decay 1e-4), v_encoder at 1e-5, v_proj and a_proj at 1e-4."""
    return torch.optim.Adam(model.param_groups(lr_visual, lr_proj), betas=(0.9, 0.999),
                            weight_decay=weight_decay)


def centred_features(fv_map: torch.Tensor, centering: float = 0.0) -> torch.Tensor:
    """Contract features: fv_map minus `centering` x its spatial mean, L2-normalised over channels."""
    if centering:
        fv_map = fv_map - centering * fv_map.mean((2, 3), keepdim=True)
    return F.normalize(fv_map, dim=1, p=2)


def heatmap(features: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
    """Contract heatmap: sum_c features[b,c,y,x] * embedding[b,c]."""
    return (features * embedding[:, :, None, None]).sum(1)


def build_model(cfg: AVINConfig, seed: int | None = None) -> AVIN:
    if seed is not None:
        torch.manual_seed(seed)
    return AVIN(cfg)
