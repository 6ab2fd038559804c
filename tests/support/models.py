"""Models outside the project's network family, for costing any torch module: a transformer
block on tokens and a small LR-ASPP-style segmentation network (MobileNetV3's building blocks),
each with a factory a design file can name (``tests.support.models:<factory>``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class TokenBlock(nn.Module):
    """Pre-norm transformer block on (batch, tokens, width): attention as two matmuls per head
    (LT's Q K^T and A V), then a GELU MLP."""

    def __init__(self, width: int = 64, heads: int = 4, mlp: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.fc1, self.fc2 = nn.Linear(width, mlp * width), nn.Linear(mlp * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(batch, tokens, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(width // self.heads)
        context = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, tokens, width)
        x = x + self.proj(context)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


def token_transformer(width: int = 64, heads: int = 4, depth: int = 2) -> nn.Module:
    return nn.Sequential(*(TokenBlock(width, heads) for _ in range(depth)))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce, self.expand = (
            nn.Conv2d(channels, channels // 4, 1),
            nn.Conv2d(channels // 4, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(scale))))


class InvertedResidual(nn.Module):
    """MobileNetV3 block: 1x1 expansion, depthwise 3x3, squeeze-excite, 1x1 projection."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int = 4) -> None:
        super().__init__()
        hidden = cin * expand
        self.body = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.Hardswish(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.Hardswish(), SqueezeExcite(hidden),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )  # fmt: skip
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class LiteSegmenter(nn.Module):
    """LR-ASPP on a small MobileNetV3-style backbone (torchvision's lraspp_mobilenet_v3_large,
    scaled down): a low-level branch at 1/8, a high-level one at 1/16 with a global-pooling
    gate, classifiers on both, upsampled to the input size."""

    def __init__(self, classes: int = 11) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish()
        )
        self.low = nn.Sequential(InvertedResidual(16, 24, 2), InvertedResidual(24, 24, 2))
        self.high = nn.Sequential(InvertedResidual(24, 48, 2), InvertedResidual(48, 48, 1))
        self.cbr = nn.Sequential(nn.Conv2d(48, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        self.scale = nn.Conv2d(48, 64, 1)
        self.low_classifier, self.high_classifier = (
            nn.Conv2d(24, classes, 1),
            nn.Conv2d(64, classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low(self.stem(x))
        high = self.high(low)
        gate = torch.sigmoid(self.scale(F.adaptive_avg_pool2d(high, 1)))
        high = F.interpolate(self.cbr(high) * gate, size=low.shape[-2:], mode="bilinear")
        out = self.low_classifier(low) + self.high_classifier(high)
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear")


def lite_segmenter(classes: int = 11) -> nn.Module:
    return LiteSegmenter(classes)
