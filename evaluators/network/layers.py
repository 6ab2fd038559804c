"""Building bricks shared by the blocks and the network.

Every multiply-accumulate is an ``nn.Conv2d`` (never ``F.conv2d``): the photonic noise model
swaps these modules in place for noisy subclasses, and the hardware cost model reads them from an
fx trace. Normalisation is ``nn.BatchNorm2d`` (foldable into the conv on deployment), activations
``nn.ReLU`` / ``nn.ReLU6``, which are cheap digital operations beside the photonic core.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Activation = type[nn.ReLU] | type[nn.ReLU6] | None


class ConvBNAct(nn.Sequential):
    """Conv (no bias: BN supplies it) → BatchNorm → optional activation, 'same' padding."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 1,
        stride: int = 1,
        *,
        groups: int = 1,
        act: Activation = nn.ReLU,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_ch, out_ch, kernel_size, stride, kernel_size // 2, groups=groups, bias=False
            ),
            nn.BatchNorm2d(out_ch),
        ]
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


def shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    """Identity when shapes match, else a strided 1x1 projection (ResNet option B)."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return ConvBNAct(in_ch, out_ch, 1, stride, act=None)


class GhostModule(nn.Module):
    """GhostNet's module: a 1x1 primary conv makes half the maps, a depthwise conv the rest.

    The cheap half costs few MACs but runs at low utilisation on a photonic core (see
    docs/photonic-model.md §3), which is exactly the trade-off the search should see.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, *, relu: bool = True) -> None:
        super().__init__()
        act: Activation = nn.ReLU if relu else None
        primary = (out_ch + 1) // 2
        self.out_ch = out_ch
        self.primary = ConvBNAct(in_ch, primary, 1, act=act)
        self.cheap = ConvBNAct(primary, primary, kernel_size, groups=primary, act=act)

    def forward(self, x: Tensor) -> Tensor:
        intrinsic = self.primary(x)
        return torch.cat([intrinsic, self.cheap(intrinsic)], dim=1)[:, : self.out_ch]


class ScaledHead(nn.Module):
    """1x1 classifier, then bilinear upsampling of the logits by ``scale`` to input resolution.

    Classifying at low resolution and upsampling C logit maps is far cheaper than upsampling the
    features; the interpolation is digital, not a MAC on the core.
    """

    def __init__(self, in_ch: int, num_classes: int, scale: int) -> None:
        super().__init__()
        self.classifier = nn.Conv2d(in_ch, num_classes, 1)
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        logits = self.classifier(x)
        return F.interpolate(logits, scale_factor=self.scale, mode="bilinear", align_corners=False)
