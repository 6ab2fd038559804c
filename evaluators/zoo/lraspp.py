"""LR-ASPP on MobileNetV3-Large (Howard et al., "Searching for MobileNetV3", ICCV 2019,
arXiv 1905.02244, §6.3), as torchvision defines ``lraspp_mobilenet_v3_large``.

The backbone is MobileNetV3-Large with its last stage dilated (stride 1, dilation 2: features at
/16), squeeze-and-excite and hard-swish where the paper's Table 1 has them. The head: a 1x1
conv-BN-ReLU branch times a global-pool sigmoid gate on the /16 features, upsampled to the /8
features, each classified by a 1x1 conv and summed, then upsampled to the input.
"""

import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.zoo.layers import Act, cbr
from evaluators.zoo.registry import register_model

# input, kernel, expanded, output, squeeze-excite, hard-swish, stride, dilation (Table 1)
LARGE = (
    (16, 3, 16, 16, False, False, 1, 1),
    (16, 3, 64, 24, False, False, 2, 1),
    (24, 3, 72, 24, False, False, 1, 1),
    (24, 5, 72, 40, True, False, 2, 1),  # /8: the head's low-level features
    (40, 5, 120, 40, True, False, 1, 1),
    (40, 5, 120, 40, True, False, 1, 1),
    (40, 3, 240, 80, False, True, 2, 1),
    (80, 3, 200, 80, False, True, 1, 1),
    (80, 3, 184, 80, False, True, 1, 1),
    (80, 3, 184, 80, False, True, 1, 1),
    (80, 3, 480, 112, True, True, 1, 1),
    (112, 3, 672, 112, True, True, 1, 1),
    (112, 5, 672, 160, True, True, 1, 2),  # stride 2 in classification, dilated here
    (160, 5, 960, 160, True, True, 1, 2),
    (160, 5, 960, 160, True, True, 1, 2),
)
LOW_LEVEL = 4  # blocks before the /8 features the head reads (torchvision's stage index)


def _divisible(value: float, divisor: int = 8) -> int:
    """torchvision's ``_make_divisible``: round to a multiple of 8, never 10 % below."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = _divisible(channels // 4)
        self.gate = nn.Sequential(
            nn.Conv2d(channels, squeezed, 1), nn.ReLU(), nn.Conv2d(squeezed, channels, 1),
            nn.Hardsigmoid(),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(F.adaptive_avg_pool2d(x, 1))


class InvertedResidual(nn.Module):
    def __init__(
        self, cin: int, kernel: int, expanded: int, cout: int, se: bool, hswish: bool,
        stride: int, dilation: int,
    ) -> None:  # fmt: skip
        super().__init__()
        act: Act = nn.Hardswish if hswish else nn.ReLU
        layers: list[nn.Module] = [] if expanded == cin else [cbr(cin, expanded, 1, act=act)]
        layers.append(cbr(expanded, expanded, kernel, stride, dilation=dilation, groups=expanded,
                          act=act))  # fmt: skip
        if se:
            layers.append(SqueezeExcite(expanded))
        layers.append(cbr(expanded, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class LRASPP(nn.Module):
    def __init__(self, num_classes: int, inter: int = 128) -> None:
        super().__init__()
        blocks = [InvertedResidual(*row) for row in LARGE]
        self.low = nn.Sequential(cbr(3, 16, 3, 2, act=nn.Hardswish), *blocks[:LOW_LEVEL])
        self.high = nn.Sequential(*blocks[LOW_LEVEL:], cbr(160, 960, 1, act=nn.Hardswish))
        self.cbr = cbr(960, inter, 1)
        self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(960, inter, 1, bias=False),
                                   nn.Sigmoid())  # fmt: skip
        self.low_classifier = nn.Conv2d(40, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        low = self.low(x)
        high = self.high(low)
        gated = self.cbr(high) * self.scale(high)
        up = F.interpolate(gated, scale_factor=2.0, mode="bilinear", align_corners=False)
        logits = self.low_classifier(low) + self.high_classifier(up)
        return F.interpolate(logits, scale_factor=8.0, mode="bilinear", align_corners=False)


@register_model(
    "lraspp_mobilenetv3",
    source="Howard et al., MobileNetV3 LR-ASPP, arXiv 1905.02244; torchvision's definition",
    downsampling=16,
)
def lraspp_mobilenetv3(num_classes: int) -> nn.Module:
    return LRASPP(num_classes)
