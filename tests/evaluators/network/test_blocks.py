"""evaluators.network.blocks: registering a block type makes it a design choice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torch.fx
from torch import nn

from evaluators.network import BLOCKS, build_network, register_block
from tests.support.network import NUM_CLASSES, design

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def restore_blocks() -> Iterator[None]:
    saved = dict(BLOCKS)
    yield
    BLOCKS.clear()
    BLOCKS.update(saved)


@pytest.mark.usefixtures("restore_blocks")
def test_registering_a_block_makes_it_a_valid_choice() -> None:
    @register_block("plain")
    class PlainBlock(nn.Sequential):
        def __init__(
            self,
            in_ch: int,
            out_ch: int,
            *,
            stride: int = 1,
            expansion: int = 1,
            kernel_size: int = 3,
        ) -> None:
            super().__init__(
                nn.Conv2d(in_ch, out_ch, kernel_size, stride, kernel_size // 2), nn.ReLU()
            )

    model = build_network(design("plain"), NUM_CLASSES)
    assert isinstance(model.get_submodule("stages.0.1.block"), PlainBlock)
    assert model(torch.rand(1, 3, 16, 16)).shape == (1, NUM_CLASSES, 16, 16)
    with pytest.raises(ValueError, match="twice"):
        register_block("plain")(PlainBlock)
