"""BiSeNet (Yu, Wang, Peng, Gao, Yu, Sang, ECCV 2018, arXiv 1808.00897) on ResNet-18.

Spatial path (three strided conv-BN-ReLU: 128 maps at /8), context path (ResNet-18, its /16 and
/32 features refined by attention refinement modules, plus the global average of the /32
features), feature fusion module, 1x1 classifier upsampled x8. The paper's two auxiliary heads
only add training losses; they are left out (the evaluator trains on the main output).
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.zoo.layers import cbr
from evaluators.zoo.registry import register_model


class BasicBlock(nn.Module):
    """ResNet's basic block (He et al. 2016), with a strided 1x1 projection when shapes change."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(in_ch, out_ch, 3, stride), cbr(out_ch, out_ch, 3, act=None))
        self.shortcut = (
            nn.Identity() if stride == 1 and in_ch == out_ch
            else cbr(in_ch, out_ch, 1, stride, act=None)
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


def _layer(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(in_ch, out_ch, stride), BasicBlock(out_ch, out_ch, 1))


class AttentionRefinement(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = cbr(in_ch, out_ch, 3)
        self.attention = nn.Sequential(nn.Conv2d(out_ch, out_ch, 1, bias=False),
                                       nn.BatchNorm2d(out_ch), nn.Sigmoid())  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        return x * self.attention(F.adaptive_avg_pool2d(x, 1))


class FeatureFusion(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = cbr(in_ch, out_ch, 1)
        self.attention = nn.Sequential(
            nn.Conv2d(out_ch, out_ch // 4, 1), nn.ReLU(), nn.Conv2d(out_ch // 4, out_ch, 1),
            nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, spatial: Tensor, context: Tensor) -> Tensor:
        x = self.conv(torch.cat([spatial, context], dim=1))
        return x + x * self.attention(F.adaptive_avg_pool2d(x, 1))


def _up(x: Tensor, factor: float) -> Tensor:
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


class BiSeNet(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.spatial = nn.Sequential(cbr(3, 64, 7, 2), cbr(64, 64, 3, 2), cbr(64, 64, 3, 2),
                                     cbr(64, 128, 1))  # fmt: skip
        self.stem = nn.Sequential(cbr(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        self.layer1, self.layer2 = _layer(64, 64, 1), _layer(64, 128, 2)
        self.layer3, self.layer4 = _layer(128, 256, 2), _layer(256, 512, 2)
        self.refine16 = AttentionRefinement(256, 128)
        self.refine32 = AttentionRefinement(512, 128)
        self.global_context = cbr(512, 128, 1)
        self.fuse16 = cbr(128, 128, 3)
        self.fuse32 = cbr(128, 128, 3)
        self.fusion = FeatureFusion(256, 256)
        self.classifier = nn.Sequential(cbr(256, 256, 3), nn.Dropout(0.1),
                                        nn.Conv2d(256, num_classes, 1))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        spatial = self.spatial(x)
        feat16 = self.layer3(self.layer2(self.layer1(self.stem(x))))
        feat32 = self.layer4(feat16)
        context = self.global_context(F.adaptive_avg_pool2d(feat32, 1))
        up32 = self.fuse32(_up(self.refine32(feat32) + context, 2.0))
        up16 = self.fuse16(_up(self.refine16(feat16) + up32, 2.0))
        return _up(self.classifier(self.fusion(spatial, up16)), 8.0)


@register_model(
    "bisenet", source="Yu et al., BiSeNet, arXiv 1808.00897 (ResNet-18 context path)",
    downsampling=32,
)  # fmt: skip
def bisenet(num_classes: int) -> nn.Module:
    return BiSeNet(num_classes)
