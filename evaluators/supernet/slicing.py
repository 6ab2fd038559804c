"""Which supernet tensor, and which part of it, each tensor of a design's network is.

Naming: a design's state-dict key is also its supernet key, except inside a stage, where the
block type is inserted (``stages.1.0.body.0.0.weight`` of a ghost stage is the supernet's
``stages.1.ghost.0.body.0.0.weight``): every block type of a stage has its own weights, while
the stem, decoder and heads are shared by all designs.

Slicing (Once-for-All, BigNAS): a design takes the leading channels of every dimension and the
centre of a larger kernel, so a narrow design is the most-shared part of a wide one. The one
exception is an input made of concatenated parts (the decoder fuses the upsampled features with
the skip): its channels are taken part by part, so the skip's weights never serve as weights
of the upsampled part at another width.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate

import torch
from torch import Tensor, nn

from evaluators.network import NetworkConfig
from evaluators.network.model import DecoderStep
from evaluators.supernet.errors import SupernetError

STAGE_KEY = re.compile(r"stages\.(\d+)\.(.+)")
BODY_INDEX = re.compile(r"\bbody\.(\d+)")

Splits = tuple[int, ...]
KeyAlignment = Callable[[str, NetworkConfig, NetworkConfig], str]


def _unchanged(rest: str, config: NetworkConfig, capacity: NetworkConfig) -> str:
    return rest


def _depthwise(rest: str, config: NetworkConfig, capacity: NetworkConfig) -> str:
    """MobileNetV2 at expansion 1 has no 1x1 expand layer: its ``body.k`` is ``body.k+1`` of
    the supernet's block, which has one whenever the space reaches a larger expansion."""
    if (config.expansion == 1) == (capacity.expansion == 1):
        return rest
    return BODY_INDEX.sub(lambda match: f"body.{int(match[1]) + 1}", rest, count=1)


KEY_ALIGNMENTS: dict[str, KeyAlignment] = {"depthwise": _depthwise}
"""Block type -> how its keys map onto the supernet's block when its layer list changes."""


def store_key(key: str, config: NetworkConfig, capacity: NetworkConfig) -> str:
    """The supernet key of state-dict ``key`` of a network of ``config`` (see module doc)."""
    match = STAGE_KEY.fullmatch(key)
    if match is None:
        return key
    stage = int(match[1])
    block = config.stages[stage].block
    rest = KEY_ALIGNMENTS.get(block, _unchanged)(match[2], config, capacity)
    return f"stages.{stage}.{block}.{rest}"


def concat_inputs(network: nn.Module) -> dict[str, Splits]:
    """Weight key -> channel counts of the concatenated parts of its input."""
    return {
        f"{name}.fuse.0.weight": module.input_splits
        for name, module in network.named_modules()
        if isinstance(module, DecoderStep)
    }


def part_index(parts: Splits, store_parts: Splits) -> Tensor:
    """Channel indices into the supernet's concatenated input of the design's parts."""
    starts = accumulate((0, *store_parts[:-1]))
    return torch.cat([start + torch.arange(n) for start, n in zip(starts, parts, strict=True)])


def slice_like(
    source: Tensor,
    shape: torch.Size,
    parts: tuple[Splits, Splits] | None = None,
) -> Tensor:
    """The part of supernet tensor ``source`` that a design tensor of ``shape`` is: a view
    (an indexed copy along a concatenated input, ``parts`` = design and supernet splits), so
    gradients of the design flow back into the supernet."""
    if source.dim() != len(shape):
        raise SupernetError(f"a design tensor of shape {tuple(shape)} cannot slice {source.shape}")
    out = source
    for dim, size in enumerate(shape):
        full = out.shape[dim]
        if size > full:
            raise SupernetError(f"a design tensor of shape {tuple(shape)} exceeds {source.shape}")
        if size == full:
            continue
        if dim == 1 and parts is not None:
            out = out.index_select(1, part_index(*parts).to(out.device))
        else:
            kernel = source.dim() == 4 and dim >= 2
            out = out.narrow(dim, (full - size) // 2 if kernel else 0, size)
    return out
