"""evaluators.noise.convert: float layers to photonic ones and back, in place."""

from __future__ import annotations

import torch
from torch import nn
from torch.fx import GraphModule, Tracer

from evaluators.noise import (
    NoiseConfig,
    PhotonicConv2d,
    PhotonicLinear,
    attach_noise,
    detach_noise,
    photonic_mode,
)
from tests.support.noise import small_net


def test_photonic_mode_keeps_parameters_and_restores_the_model() -> None:
    model = small_net()
    keys, params = list(model.state_dict()), list(model.parameters())
    before = {name: (type(m), set(vars(m))) for name, m in model.named_modules()}
    with photonic_mode(model, NoiseConfig()) as state:
        assert isinstance(model[0], PhotonicConv2d) and isinstance(model[8], PhotonicLinear)
        assert type(model[1]) is nn.BatchNorm2d  # digital ops stay digital
        assert list(model.state_dict()) == keys
        assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
        model.load_state_dict(model.state_dict())  # aihwkit #275: config not in the state dict
        assert model[0].noise_state is state and state is not None
    assert {name: (type(m), set(vars(m))) for name, m in model.named_modules()} == before


def test_photonic_mode_nests_and_restores_the_outer_state() -> None:
    model = small_net()
    outer = attach_noise(model, NoiseConfig(), chip_seed=1)
    with photonic_mode(model, NoiseConfig(), chip_seed=2) as inner:
        assert model[0].noise_state is inner and inner is not outer
    with photonic_mode(model, None):
        assert type(model[0]) is nn.Conv2d
    assert model[0].noise_state is outer
    detach_noise(model)
    assert type(model[0]) is nn.Conv2d


def test_attach_and_detach_for_training_loops() -> None:
    model, x = small_net().train(), torch.randn(4, 3, 10, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # built before conversion
    before = model[0].weight.detach().clone()
    for step in range(2):
        attach_noise(model, NoiseConfig().scaled(0.5 + step), chip_seed=step, noise_seed=step)
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    assert not torch.equal(model[0].weight, before)
    detach_noise(model)
    assert type(model[0]) is nn.Conv2d and type(model[8]) is nn.Linear
    assert attach_noise(model, None) is None and type(model[0]) is nn.Conv2d


def test_float_export_and_fx_tracing() -> None:
    model, x = small_net(), torch.randn(1, 3, 8, 8)
    attach_noise(model, NoiseConfig())
    detach_noise(model)
    assert torch.allclose(torch.jit.trace(model, x)(x), model(x))

    class LeafTracer(Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            return isinstance(m, nn.Conv2d | nn.Linear) or super().is_leaf_module(m, qualname)

    with photonic_mode(model, NoiseConfig()):
        graph = LeafTracer().trace(model)
        calls = [node.target for node in graph.nodes if node.op == "call_module"]
        assert "0" in calls and "8" in calls
        assert GraphModule(model, graph)(x).shape == (1, 5)
