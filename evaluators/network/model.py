"""`SegmentationNet`: stem, weight-shared encoder stages, light skip decoder, classifier.

Shape walk for input ``N x 3 x H x W`` (float RGB in [0, 1], normalised inside the model):
stem 3x3 stride 2 → w at /2; stage s: transition (the stage's block type, stride 2) then ONE
block instance run T_s times (ItNet-style weight sharing: parameters count once, compute T_s
times) → widths w, 2w, 4w at /4, /8, /16; decoder: upsample x2, concat the skip of the same
resolution, 1x1 conv-BN-ReLU, back to /2 with w channels; 1x1 classifier, logits upsampled x2.
With ``anytime`` each stage also has a 1x1 head (used in training, see ``forward_all``).

The forward pass has no data-dependent control flow (loops run over fixed counts), so it traces
with ``torch.fx.symbolic_trace`` and ``torch.jit.trace`` and compiles with ``torch.jit.script``.
No ``from __future__ import annotations`` here: TorchScript must resolve the class-level buffer
annotations, which it cannot do from strings.
"""

from collections.abc import Mapping
from typing import Any

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from evaluators.network.blocks import BLOCKS
from evaluators.network.config import FAMILY, NetworkConfig, NetworkConfigError, StageConfig
from evaluators.network.layers import ConvBNAct, ScaledHead

RGB_MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics: a neutral, well-known choice
RGB_STD = (0.229, 0.224, 0.225)


def check_input_size(x: Tensor, factor: int) -> Tensor:
    """Pass ``x`` through, or fail in one line when H or W is not a multiple of ``factor``.

    Kept out of the fx graph (``torch.fx.wrap``) and skipped while jit-tracing, since a shape
    test is data-dependent control flow; the eager, fx and scripted models all run it.
    """
    if torch.jit.is_tracing():
        return x
    height, width = x.shape[-2], x.shape[-1]
    if height % factor != 0 or width % factor != 0:
        raise NetworkConfigError(
            f"input size {height}x{width} is not divisible by the network's downsampling factor"
            f" {factor}"
        )
    return x


torch.fx.wrap("check_input_size")


class SharedIterations(nn.Module):
    """One block applied ``iterations`` times with the same weights (ItNet, arXiv 2101.08685)."""

    def __init__(self, block: nn.Module, iterations: int) -> None:
        super().__init__()
        self.block = block
        self.iterations = iterations

    def forward(self, x: Tensor) -> Tensor:
        for _ in range(self.iterations):
            x = self.block(x)
        return x


def make_stage(in_ch: int, out_ch: int, stage: StageConfig, config: NetworkConfig) -> nn.Sequential:
    """Stride-2 transition then the weight-shared repeated block, both of the stage's type."""
    block = BLOCKS[stage.block]
    options = {"expansion": config.expansion, "kernel_size": config.kernel_size}
    return nn.Sequential(
        block(in_ch, out_ch, stride=2, **options),
        SharedIterations(block(out_ch, out_ch, stride=1, **options), stage.iterations),
    )


class DecoderStep(nn.Module):
    """Upsample x2, concatenate the encoder skip of that resolution, fuse with a 1x1 conv.

    1x1 keeps the fixed decoder a small share of the MACs (a 3x3 fusion at /2 alone would cost
    more than the whole encoder at small widths), so the searched encoder drives the cost.
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        # Channels of the upsampled input and of the skip, in concatenation order: a supernet
        # slices ``fuse``'s input channels per part, so widths share weights part by part.
        self.input_splits = (in_ch, skip_ch)
        self.fuse = ConvBNAct(in_ch + skip_ch, out_ch, 1)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        up = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([up, skip], dim=1))


class SegmentationNet(nn.Module):
    """Input float32 ``N x 3 x H x W`` RGB in [0, 1]; output logits ``N x C x H x W``."""

    mean: Tensor
    std: Tensor

    def __init__(self, config: NetworkConfig, num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.num_classes = num_classes
        self.downsampling = config.downsampling
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(RGB_STD).view(1, 3, 1, 1))
        widths = (config.width, *config.stage_widths)  # stem, then each stage
        self.stem = ConvBNAct(3, config.width, 3, stride=2)
        self.stages = nn.ModuleList(
            make_stage(widths[i], widths[i + 1], stage, config)
            for i, stage in enumerate(config.stages)
        )
        self.decoder = nn.ModuleList(
            DecoderStep(widths[i + 1], widths[i], widths[i])
            for i in reversed(range(len(widths) - 1))
        )
        self.head = ScaledHead(config.width, num_classes, 2)
        self.anytime_heads = nn.ModuleList(
            ScaledHead(width, num_classes, 2 ** (i + 2))
            for i, width in enumerate(widths[1:])
            if config.anytime
        )

    def encode(self, x: Tensor) -> list[Tensor]:
        """Feature maps of the stem and of every stage, finest first."""
        x = check_input_size(x, self.downsampling)
        x = self.stem((x - self.mean) / self.std)
        features = [x]
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features

    def decode(self, features: list[Tensor]) -> Tensor:
        x = features[-1]
        for index, step in enumerate(self.decoder):
            x = step(x, features[-2 - index])
        return self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    @torch.jit.export
    def forward_all(self, x: Tensor) -> list[Tensor]:
        """Anytime outputs of stages 1..S (coarse, early), then the final logits, all at H x W."""
        features = self.encode(x)
        outputs: list[Tensor] = []
        for index, head in enumerate(self.anytime_heads):
            outputs.append(head(features[index + 1]))
        outputs.append(self.decode(features))
        return outputs


def build_network(
    params: Mapping[str, Any] | NetworkConfig, num_classes: int, *, seed: int | None = None
) -> SegmentationNet:
    """The network of a design's ``arch.*`` params (or their parsed config); ``seed`` makes its
    initial weights repeatable without touching the global RNG."""
    if num_classes < 1:
        raise NetworkConfigError(f"num_classes = {num_classes} must be at least 1")
    config = params if isinstance(params, NetworkConfig) else NetworkConfig.from_params(params)
    if config.model != FAMILY:
        raise NetworkConfigError(
            f"arch.model={config.model!r} is not this network family: evaluators.zoo builds it"
        )
    if seed is None:
        return SegmentationNet(config, num_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SegmentationNet(config, num_classes)
