"""Fast-SCNN (Poudel, Liwicki, Cipolla, BMVC 2019, arXiv 1902.04502), Table 1 of the paper.

Learning to downsample (a strided conv and two strided depthwise-separable convs: 64 maps at
/8), a global feature extractor (MobileNetV2 bottlenecks, expansion 6, to 128 maps at /32, and a
pyramid pooling module over bins 1, 2, 3 and 6), feature fusion of both resolutions, and a
classifier of two depthwise-separable convs and a 1x1 conv, upsampled x8.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.zoo.layers import cbr, depthwise_separable
from evaluators.zoo.registry import register_model


class LinearBottleneck(nn.Module):
    """MobileNetV2's inverted residual: 1x1 expand, 3x3 depthwise, 1x1 linear projection."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int = 6) -> None:
        super().__init__()
        hidden = in_ch * expansion
        self.residual = stride == 1 and in_ch == out_ch
        self.body = nn.Sequential(
            cbr(in_ch, hidden, 1),
            cbr(hidden, hidden, 3, stride, groups=hidden),
            cbr(hidden, out_ch, 1, act=None),
        )

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def _stack(in_ch: int, out_ch: int, count: int, stride: int) -> list[nn.Module]:
    return [LinearBottleneck(in_ch if i == 0 else out_ch, out_ch, stride if i == 0 else 1)
            for i in range(count)]  # fmt: skip


class PyramidPooling(nn.Module):
    def __init__(self, channels: int, out_ch: int, bins: tuple[int, ...] = (1, 2, 3, 6)) -> None:
        super().__init__()
        inner = channels // len(bins)
        self.bins = bins
        self.reduce = nn.ModuleList(cbr(channels, inner, 1) for _ in bins)
        self.project = cbr(channels + inner * len(bins), out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        parts = [x]
        for bins, reduce in zip(self.bins, self.reduce, strict=True):
            pooled = reduce(F.adaptive_avg_pool2d(x, bins))
            parts.append(F.interpolate(pooled, size, mode="bilinear", align_corners=False))
        return self.project(torch.cat(parts, dim=1))


class FastSCNN(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.downsample = nn.Sequential(
            cbr(3, 32, 3, 2), depthwise_separable(32, 48, 2), depthwise_separable(48, 64, 2)
        )
        self.features = nn.Sequential(
            *_stack(64, 64, 3, 2), *_stack(64, 96, 3, 2), *_stack(96, 128, 3, 1),
            PyramidPooling(128, 128),
        )  # fmt: skip
        self.high = cbr(64, 128, 1, act=None)
        self.low = nn.Sequential(  # "DWConv (dilation 4)" of Table 1
            cbr(128, 128, 3, dilation=4, groups=128), cbr(128, 128, 1, act=None)
        )
        self.classifier = nn.Sequential(
            depthwise_separable(128, 128),
            depthwise_separable(128, 128),
            nn.Dropout(0.1),
            nn.Conv2d(128, num_classes, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        shared = self.downsample(x)
        context = self.features(shared)
        up = F.interpolate(context, scale_factor=4.0, mode="bilinear", align_corners=False)
        fused = F.relu(self.high(shared) + self.low(up))
        logits = self.classifier(fused)
        return F.interpolate(logits, scale_factor=8.0, mode="bilinear", align_corners=False)


@register_model(
    "fast_scnn", source="Poudel et al., Fast-SCNN, arXiv 1902.04502 (Table 1)", downsampling=32
)
def fast_scnn(num_classes: int) -> nn.Module:
    return FastSCNN(num_classes)
