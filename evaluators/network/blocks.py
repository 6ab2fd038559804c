"""The block types a stage can repeat, by name: ``@register_block("name")`` adds one.

Every block takes the same constructor ``(in_ch, out_ch, *, stride, expansion, kernel_size)`` so
the network (and later a weight-sharing supernet) can build any of them from a stage's config; a
block ignores what does not apply to it. With ``stride=1`` and ``in_ch == out_ch`` every block is
residual, which keeps the weight-shared loop of a stage stable however often it runs. A block
that has no expanded middle says so (``uses_expansion = False``), so that designs differing only
in ``expansion`` are known to build one network (:meth:`NetworkConfig.canonical`).
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor, nn

from evaluators.network.layers import ConvBNAct, GhostModule, shortcut
from evaluators.registry import Registry

BLOCKS: Registry[type[nn.Module]] = Registry("block type")
register_block = BLOCKS.register  # class decorator: the name becomes a value of arch.stageN.block


@register_block("standard")
class StandardBlock(nn.Module):
    """ResNet basic block: kxk conv-BN-ReLU, kxk conv-BN, add the shortcut, ReLU.

    Dense convolutions fill the photonic core well. It has no expanded middle, so ``expansion``
    is unused.
    """

    uses_expansion: ClassVar[bool] = False

    def __init__(
        self, in_ch: int, out_ch: int, *, stride: int = 1, expansion: int = 1, kernel_size: int = 3
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBNAct(in_ch, out_ch, kernel_size, stride),
            ConvBNAct(out_ch, out_ch, kernel_size, act=None),
        )
        self.shortcut = shortcut(in_ch, out_ch, stride)
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.body(x) + self.shortcut(x))


@register_block("depthwise")
class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (ReLU6), kxk depthwise (ReLU6), 1x1 linear projection.

    The shortcut exists only when shapes match, as in the paper; a strided or widening block is
    a plain chain.
    """

    def __init__(
        self, in_ch: int, out_ch: int, *, stride: int = 1, expansion: int = 4, kernel_size: int = 3
    ) -> None:
        super().__init__()
        hidden = in_ch * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(ConvBNAct(in_ch, hidden, 1, act=nn.ReLU6))
        layers += [
            ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, act=nn.ReLU6),
            ConvBNAct(hidden, out_ch, 1, act=None),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        if self.residual:
            out = out + x
        return out


@register_block("ghost")
class GhostBottleneck(nn.Module):
    """GhostNet bottleneck: ghost module (expand, ReLU), a kxk depthwise conv when strided,
    ghost module (project, linear), plus the shortcut. The cheap maps use a kxk depthwise conv.
    """

    def __init__(
        self, in_ch: int, out_ch: int, *, stride: int = 1, expansion: int = 4, kernel_size: int = 3
    ) -> None:
        super().__init__()
        hidden = in_ch * expansion
        layers: list[nn.Module] = [GhostModule(in_ch, hidden, kernel_size)]
        if stride != 1:
            layers.append(ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, act=None))
        layers.append(GhostModule(hidden, out_ch, kernel_size, relu=False))
        self.body = nn.Sequential(*layers)
        self.shortcut = shortcut(in_ch, out_ch, stride)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.shortcut(x)
