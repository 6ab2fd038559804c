"""The segmentation network family searched by photonic-dse.

``build_network(params, num_classes)`` turns a design's ``arch.*`` parameters (see
:mod:`evaluators.network.config`) into a :class:`SegmentationNet`; block types come from a
registry (``@register_block``).
"""

from evaluators.network.blocks import BLOCKS, register_block
from evaluators.network.config import (
    ARCH_PARAMS,
    DEFAULT_SPACE,
    FAMILY,
    NetworkConfig,
    NetworkConfigError,
    StageConfig,
)
from evaluators.network.model import SegmentationNet, build_network

__all__ = [
    "ARCH_PARAMS",
    "BLOCKS",
    "DEFAULT_SPACE",
    "FAMILY",
    "NetworkConfig",
    "NetworkConfigError",
    "SegmentationNet",
    "StageConfig",
    "build_network",
    "register_block",
]
