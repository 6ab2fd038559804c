"""The network family: every block type x iteration count x width builds, runs forward and
backward, traces (fx, jit), and rejects bad designs and sizes in one line."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import torch
import torch.fx
from torch import nn

from evaluators.network import (
    BLOCKS,
    DEFAULT_SPACE,
    NetworkConfig,
    NetworkConfigError,
    StageConfig,
    build_network,
    register_block,
)

pytestmark = pytest.mark.usefixtures("one_thread")
NUM_CLASSES = 5


def design(block: str, iterations: int = 1, width: int = 8, **extra: Any) -> dict[str, Any]:
    return {"arch.width": width, "arch.block": block, "arch.iterations": iterations, **extra}


@pytest.mark.parametrize(
    ("block", "iterations", "width"),
    list(itertools.product(BLOCKS, DEFAULT_SPACE["iterations"], DEFAULT_SPACE["width"])),
)
def test_every_design_runs_forward_and_backward(block: str, iterations: int, width: int) -> None:
    model = build_network(design(block, iterations, width, **{"arch.expansion": 2}), NUM_CLASSES)
    x = torch.rand(2, 3, 32, 48)
    logits = model(x)
    assert logits.shape == (2, NUM_CLASSES, 32, 48)
    logits.square().mean().backward()
    shared = model.get_submodule("stages.0.1.block")
    grads = [p.grad for p in shared.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads if g is not None)


@pytest.mark.parametrize("block", list(BLOCKS))
def test_traceable_and_exportable(block: str) -> None:
    params = design(block, 2, 8, **{"arch.anytime": True, "arch.kernel_size": 5})
    model = build_network(params, NUM_CLASSES, seed=0).eval()
    x = torch.rand(1, 3, 32, 32)
    expected = model(x)
    graph = torch.fx.symbolic_trace(model)
    torch.testing.assert_close(graph(x), expected)
    torch.testing.assert_close(torch.jit.trace(model, x)(x), expected)
    scripted = torch.jit.script(model)
    torch.testing.assert_close(scripted(x), expected)
    torch.testing.assert_close(scripted.forward_all(x)[-1], expected)
    # Every multiply-accumulate is a Conv2d module: no functional convs in the graph.
    targets = {str(node.target) for node in graph.graph.nodes if node.op == "call_function"}
    assert not any("conv" in target for target in targets)


def test_weight_sharing_repeats_the_block_not_the_weights() -> None:
    once = build_network(design("depthwise", 1), NUM_CLASSES, seed=0)
    four = build_network(design("depthwise", 4), NUM_CLASSES, seed=0)
    count = sum(p.numel() for p in once.parameters())
    assert count == sum(p.numel() for p in four.parameters())
    calls = [n.target for n in torch.fx.symbolic_trace(four).graph.nodes if n.op == "call_module"]
    shared_conv = "stages.1.1.block.body.0.0"
    assert calls.count(shared_conv) == 4
    once_calls = [n.target for n in torch.fx.symbolic_trace(once).graph.nodes]
    assert once_calls.count(shared_conv) == 1


def test_only_conv_linear_batchnorm_hold_weights() -> None:
    for block in BLOCKS:
        model = build_network(design(block, **{"arch.anytime": True}), NUM_CLASSES)
        for module in model.modules():
            if any(True for _ in module.parameters(recurse=False)):
                assert isinstance(module, nn.Conv2d | nn.Linear | nn.BatchNorm2d), module


def test_anytime_outputs() -> None:
    model = build_network(design("ghost", **{"arch.anytime": True}), NUM_CLASSES)
    outputs = model.forward_all(torch.rand(2, 3, 32, 32))
    assert len(outputs) == 4  # three stages, then the final output
    assert all(o.shape == (2, NUM_CLASSES, 32, 32) for o in outputs)
    plain = build_network(design("ghost"), NUM_CLASSES)
    assert len(plain.forward_all(torch.rand(2, 3, 32, 32))) == 1


def test_normalisation_is_inside_the_model() -> None:
    model = build_network(design("standard"), NUM_CLASSES)
    buffers = dict(model.named_buffers())
    assert buffers["mean"].shape == (1, 3, 1, 1) and buffers["std"].shape == (1, 3, 1, 1)


def test_seeded_build_is_repeatable() -> None:
    first = build_network(design("standard"), NUM_CLASSES, seed=1).state_dict()
    second = build_network(design("standard"), NUM_CLASSES, seed=1).state_dict()
    other = build_network(design("standard"), NUM_CLASSES, seed=2).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["stem.0.weight"], other["stem.0.weight"])


# --- NetworkConfig ---------------------------------------------------------------------------


def test_from_params_reads_arch_keys_and_ignores_others() -> None:
    config = NetworkConfig.from_params(
        {
            "arch.width": 24.0,  # integral floats, as some optimisers produce, are fine
            "arch.expansion": 6,
            "arch.kernel_size": 5,
            "arch.block": "ghost",
            "arch.stage2.block": "depthwise",
            "arch.iterations": 2,
            "arch.stage3.iterations": 4,
            "arch.anytime": True,
            "hw.bits": 4,
            "hw.array_size": 16,
        }
    )
    assert config.width == 24 and config.stage_widths == (24, 48, 96)
    assert config.stages == (
        StageConfig("ghost", 2),
        StageConfig("depthwise", 2),
        StageConfig("ghost", 4),
    )
    assert config.anytime and config.downsampling == 16
    assert NetworkConfig.from_params(config.to_params()) == config
    assert NetworkConfig.from_params({}) == NetworkConfig()


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({"arch.depth": 3}, ("arch.depth: unknown parameter; known: arch.width",)),
        ({"arch.width": 100}, ("arch.width=100 out of range", "allowed [4, 64]")),
        ({"arch.width": 8.5}, ("arch.width=8.5: expected int",)),
        ({"arch.stage2.iterations": 0}, ("arch.stage2.iterations=0 out of range", "[1, 4]")),
        ({"arch.stage1.block": "dense"}, ("arch.stage1.block='dense': one of standard",)),
        ({"arch.kernel_size": 4}, ("arch.kernel_size=4: one of 3, 5",)),
        ({"arch.anytime": "maybe"}, ("arch.anytime='maybe': expected bool",)),
    ],
)
def test_bad_params_fail_in_one_line(params: dict[str, Any], fragments: tuple[str, ...]) -> None:
    with pytest.raises(NetworkConfigError) as error:
        build_network(params, NUM_CLASSES)
    message = str(error.value)
    assert "\n" not in message
    assert all(fragment in message for fragment in fragments), message


@pytest.mark.parametrize("size", [(30, 32), (32, 40)])
def test_input_size_not_divisible(size: tuple[int, int]) -> None:
    model = build_network(design("standard"), NUM_CLASSES)
    with pytest.raises(NetworkConfigError) as error:
        model(torch.rand(1, 3, *size))
    message = str(error.value)
    assert f"{size[0]}x{size[1]}" in message and "16" in message and "\n" not in message
    with pytest.raises(NetworkConfigError):
        torch.fx.symbolic_trace(model)(torch.rand(1, 3, *size))


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
