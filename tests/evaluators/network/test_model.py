"""evaluators.network.model: every design builds, runs, traces and checks its input."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.fx
from torch import nn

from evaluators.network import BLOCKS, DEFAULT_SPACE, NetworkConfigError, build_network
from tests.support.network import NUM_CLASSES, design

pytestmark = pytest.mark.usefixtures("one_thread")


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


@pytest.mark.parametrize("size", [(30, 32), (32, 40)])
def test_input_size_not_divisible(size: tuple[int, int]) -> None:
    model = build_network(design("standard"), NUM_CLASSES)
    with pytest.raises(NetworkConfigError) as error:
        model(torch.rand(1, 3, *size))
    message = str(error.value)
    assert f"{size[0]}x{size[1]}" in message and "16" in message and "\n" not in message
    with pytest.raises(NetworkConfigError):
        torch.fx.symbolic_trace(model)(torch.rand(1, 3, *size))
