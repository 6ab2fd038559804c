"""U-Net (Ronneberger, Fischer, Brox, MICCAI 2015, arXiv 1505.04597), Fig. 1 of the paper.

Four levels of two 3x3 convs (64 to 1024 maps) with 2x2 max pooling, an expanding path of 2x2
up-convolutions (transposed, stride 2) concatenated with the contracting path's maps, and a 1x1
classifier. Two departures, as in most modern uses: the convolutions are padded (the output is
the input's size, no cropping) and each is followed by batch normalisation.

``unet_base16`` is the same network at a quarter of the paper's widths (16 to 256 maps): at
CamVid 96x128 the paper's widths cost 9.0 G MACs a frame, 13-230x the other published networks
here, and this one 0.57 G, beside ERFNet (0.62 G) and BiSeNet (0.69 G), so that the zoo study
trains it on a CPU; small-data uses of U-Net commonly narrow it the same way.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.zoo.layers import cbr
from evaluators.zoo.registry import register_model


def _double(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(cbr(in_ch, out_ch, 3), cbr(out_ch, out_ch, 3))


class UNet(nn.Module):
    def __init__(self, num_classes: int, base: int = 64, levels: int = 4) -> None:
        super().__init__()
        widths = [base * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList(
            _double(3 if i == 0 else widths[i - 1], w) for i, w in enumerate(widths)
        )
        self.up = nn.ModuleList(nn.ConvTranspose2d(w, w // 2, 2, 2) for w in widths[:0:-1])
        self.merge = nn.ModuleList(_double(w, w // 2) for w in widths[:0:-1])
        self.classifier = nn.Conv2d(base, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for index, block in enumerate(self.down):
            x = block(x if index == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([skips.pop(), up(x)], dim=1))
        return self.classifier(x)


@register_model(
    "unet", source="Ronneberger et al., U-Net, arXiv 1505.04597 (Fig. 1)", downsampling=16
)
def unet(num_classes: int) -> nn.Module:
    return UNet(num_classes)


@register_model(
    "unet_base16",
    source="Ronneberger et al., U-Net, arXiv 1505.04597 (Fig. 1), widths / 4 (16 to 256 maps)",
    downsampling=16,
)
def unet_base16(num_classes: int) -> nn.Module:
    return UNet(num_classes, base=16)
