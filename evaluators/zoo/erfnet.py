"""ERFNet (Romera, Álvarez, Bergasa, Arroyo, IEEE T-ITS 19(1), 2018), Table I of the paper.

Downsampler blocks (a strided 3x3 conv beside a max pool, concatenated), non-bottleneck-1D
residual blocks (3x1 and 1x3 factorised convolutions, the second pair dilated 2-16 in the
encoder's last stage; dropout 0.03 then 0.3), and a decoder of transposed convolutions.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.zoo.registry import register_model


class Downsampler(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch - in_ch, 3, 2, 1)
        self.pool = nn.MaxPool2d(2, 2)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(torch.cat([self.conv(x), self.pool(x)], dim=1)))


class NonBottleneck1D(nn.Module):
    def __init__(self, channels: int, dropout: float, dilation: int) -> None:
        super().__init__()
        d = dilation
        self.conv3x1_1 = nn.Conv2d(channels, channels, (3, 1), padding=(1, 0))
        self.conv1x3_1 = nn.Conv2d(channels, channels, (1, 3), padding=(0, 1))
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv3x1_2 = nn.Conv2d(channels, channels, (3, 1), padding=(d, 0), dilation=(d, 1))
        self.conv1x3_2 = nn.Conv2d(channels, channels, (1, 3), padding=(0, d), dilation=(1, d))
        self.bn2 = nn.BatchNorm2d(channels)
        self.dropout = nn.Dropout2d(dropout)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1x3_1(F.relu(self.conv3x1_1(x)))))
        y = self.bn2(self.conv1x3_2(F.relu(self.conv3x1_2(y))))
        return F.relu(x + self.dropout(y))


def _upsampler(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 3, 2, 1, output_padding=1),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(),
    )


@register_model("erfnet", source="Romera et al., ERFNet, IEEE T-ITS 2018 (Table I)", downsampling=8)
def erfnet(num_classes: int) -> nn.Module:
    dilated = [NonBottleneck1D(128, 0.3, d) for d in (2, 4, 8, 16) * 2]
    return nn.Sequential(
        Downsampler(3, 16),
        Downsampler(16, 64),
        *(NonBottleneck1D(64, 0.03, 1) for _ in range(5)),
        Downsampler(64, 128),
        *dilated,
        _upsampler(128, 64),
        *(NonBottleneck1D(64, 0.0, 1) for _ in range(2)),
        _upsampler(64, 16),
        *(NonBottleneck1D(16, 0.0, 1) for _ in range(2)),
        nn.ConvTranspose2d(16, num_classes, 2, 2),
    )
