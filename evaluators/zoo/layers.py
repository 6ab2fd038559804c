"""Bricks the zoo networks share: conv-BN-activation with any padding, dilation and groups.

As in the family (:mod:`evaluators.network.layers`), every multiply-accumulate is an
``nn.Conv2d``, ``nn.ConvTranspose2d`` or ``nn.Linear`` module, so the noise model simulates it and
the cost model maps it.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

Act = Callable[[], nn.Module] | None


def cbr(
    in_ch: int,
    out_ch: int,
    kernel_size: int | tuple[int, int] = 3,
    stride: int = 1,
    *,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    act: Act = nn.ReLU,
) -> nn.Sequential:
    """Conv (no bias, 'same' padding for odd kernels) → BatchNorm → optional activation."""
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    dilations = (dilation, dilation) if isinstance(dilation, int) else dilation
    padding = (dilations[0] * (kernel[0] - 1) // 2, dilations[1] * (kernel[1] - 1) // 2)
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, padding, dilations, groups, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


def depthwise_separable(in_ch: int, out_ch: int, stride: int = 1) -> nn.Sequential:
    """3x3 depthwise conv-BN-ReLU, then 1x1 pointwise conv-BN-ReLU (MobileNet's DSConv)."""
    return nn.Sequential(cbr(in_ch, in_ch, 3, stride, groups=in_ch), cbr(in_ch, out_ch, 1))
