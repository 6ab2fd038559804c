"""ENet (Paszke, Chaurasia, Kim, Culurciello, arXiv 1606.02147, 2016), Table 1 of the paper.

Initial block (13 strided 3x3 filters beside a max pool: 16 maps at /2), bottleneck stages 1-3
(64 and 128 channels at /4 and /8; regular, dilated 2-16 and asymmetric 5x1·1x5 convolutions;
PReLU; spatial dropout 0.01 then 0.1), decoder stages 4-5 (max-unpooling with the encoder's
indices, ReLU), and a transposed-convolution classifier back to H x W.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.zoo.registry import register_model


class InitialBlock(nn.Module):
    def __init__(self, out_ch: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, out_ch - 3, 3, 2, 1, bias=False)
        self.pool = nn.MaxPool2d(2, 2)
        self.bn = nn.BatchNorm2d(out_ch)
        self.act = nn.PReLU(out_ch)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(torch.cat([self.conv(x), self.pool(x)], dim=1)))


def _unit(
    conv: nn.Module, channels: int, encoder: bool
) -> list[nn.Module]:  # conv → BN → PReLU (encoder) or ReLU (decoder)
    return [conv, nn.BatchNorm2d(channels), nn.PReLU(channels) if encoder else nn.ReLU()]


class Bottleneck(nn.Module):
    """1x1 projection, the main conv (``kind``: regular, dilated or asymmetric), 1x1 expansion,
    spatial dropout, added to the input (a regular bottleneck: shapes match)."""

    def __init__(
        self, channels: int, kind: str = "regular", dilation: int = 1, dropout: float = 0.1,
        encoder: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        inner = channels // 4
        if kind == "asymmetric":
            main: list[nn.Module] = [
                nn.Conv2d(inner, inner, (5, 1), padding=(2, 0), bias=False),
                *_unit(nn.Conv2d(inner, inner, (1, 5), padding=(0, 2), bias=False), inner, encoder),
            ]
        else:
            main = _unit(
                nn.Conv2d(inner, inner, 3, padding=dilation, dilation=dilation, bias=False),
                inner,
                encoder,
            )
        self.ext = nn.Sequential(
            *_unit(nn.Conv2d(channels, inner, 1, bias=False), inner, encoder),
            *main,
            nn.Conv2d(inner, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(channels) if encoder else nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.ext(x))


class Downsampling(nn.Module):
    """Main branch: 2x2 max pool (indices kept for the decoder), channels zero-padded; extension:
    2x2 stride-2 projection, 3x3 conv, 1x1 expansion."""

    def __init__(self, in_ch: int, out_ch: int, dropout: float) -> None:
        super().__init__()
        inner = in_ch // 4
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.pad = out_ch - in_ch
        self.ext = nn.Sequential(
            *_unit(nn.Conv2d(in_ch, inner, 2, 2, bias=False), inner, True),
            *_unit(nn.Conv2d(inner, inner, 3, padding=1, bias=False), inner, True),
            nn.Conv2d(inner, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU(out_ch)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        pooled = self.pool(x)  # (values, indices): indexed, since fx cannot unpack a proxy
        main = F.pad(pooled[0], (0, 0, 0, 0, 0, self.pad))
        return self.act(main + self.ext(x)), pooled[1]


class Upsampling(nn.Module):
    """Main branch: 1x1 conv, then max-unpooling with the matching encoder indices; extension:
    1x1 projection, 3x3 transposed conv (stride 2), 1x1 expansion. ReLU (the decoder's)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        inner = in_ch // 4
        self.main = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))
        self.ext = nn.Sequential(
            *_unit(nn.Conv2d(in_ch, inner, 1, bias=False), inner, False),
            *_unit(
                nn.ConvTranspose2d(inner, inner, 3, 2, 1, output_padding=1, bias=False),
                inner,
                False,
            ),
            nn.Conv2d(inner, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
        )
        self.act = nn.ReLU()

    def forward(self, x: Tensor, indices: Tensor) -> Tensor:
        unpooled = F.max_unpool2d(self.main(x), indices, [2, 2])  # nn.MaxUnpool2d: no script
        return self.act(unpooled + self.ext(x))


def _stage(channels: int) -> nn.Sequential:
    """Bottlenecks x.1-x.8 of stages 2 and 3 (Table 1)."""
    plan = [("regular", 1), ("dilated", 2), ("asymmetric", 1), ("dilated", 4)] * 2
    plan[4:] = [("regular", 1), ("dilated", 8), ("asymmetric", 1), ("dilated", 16)]
    return nn.Sequential(*(Bottleneck(channels, kind, d, 0.1) for kind, d in plan))


class ENet(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.initial = InitialBlock(16)
        self.down1 = Downsampling(16, 64, 0.01)
        self.stage1 = nn.Sequential(*(Bottleneck(64, dropout=0.01) for _ in range(4)))
        self.down2 = Downsampling(64, 128, 0.1)
        self.stage2 = _stage(128)
        self.stage3 = _stage(128)
        self.up4 = Upsampling(128, 64)
        self.stage4 = nn.Sequential(*(Bottleneck(64, encoder=False) for _ in range(2)))
        self.up5 = Upsampling(64, 16)
        self.stage5 = Bottleneck(16, encoder=False)
        self.fullconv = nn.ConvTranspose2d(16, num_classes, 3, 2, 1, output_padding=1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.initial(x)
        x, indices1 = self.down1(x)
        x, indices2 = self.down2(self.stage1(x))
        x = self.stage3(self.stage2(x))
        x = self.stage4(self.up4(x, indices2))
        x = self.stage5(self.up5(x, indices1))
        return self.fullconv(x)


@register_model("enet", source="Paszke et al., ENet, arXiv 1606.02147 (Table 1)", downsampling=8)
def enet(num_classes: int) -> nn.Module:
    return ENet(num_classes)
