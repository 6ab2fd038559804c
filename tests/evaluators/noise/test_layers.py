"""evaluators.noise.layers: photonic Conv2d/Linear, without a state and with one."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from evaluators.noise import NoiseConfig, PhotonicConv2d, PhotonicLinear, photonic_mode
from evaluators.noise import layers as photonic_layers
from tests.support.noise import small_net


def test_without_a_state_the_layers_are_their_parents() -> None:
    torch.manual_seed(2)
    conv, linear = PhotonicConv2d(4, 6, 3, padding=1), PhotonicLinear(6, 3)
    x, rows = torch.randn(2, 4, 5, 5), torch.randn(3, 6)
    assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1))
    assert torch.equal(linear(rows), F.linear(rows, linear.weight, linear.bias))
    assert list(conv.state_dict()) == list(nn.Conv2d(4, 6, 3).state_dict())


def test_gradients_flow_through_the_noisy_forward() -> None:
    model = small_net().train()
    x = torch.randn(2, 3, 10, 10, requires_grad=True)
    with photonic_mode(model, replace(NoiseConfig(sigma_in_static=0.02), input_bits=2)):
        model(x).square().sum().backward()
    grads = [x.grad] + [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (nn.Conv2d(4, 6, 3, padding=1), (2, 4, 9, 7)),
        (nn.Conv2d(4, 6, (3, 5), stride=2, padding=(0, 2)), (2, 4, 9, 7)),
        (nn.Conv2d(4, 4, 3, dilation=2, padding="same", groups=4), (1, 4, 8, 8)),
        (nn.Conv2d(4, 6, 3), (4, 9, 7)),
        (nn.Linear(5, 3), (2, 7, 5)),
    ],
)
def test_output_elements_match_the_forward(layer: nn.Module, shape: tuple[int, ...]) -> None:
    with photonic_mode(layer, NoiseConfig()):
        assert isinstance(layer, photonic_layers.PhotonicLayer)
        x = torch.randn(shape)
        assert layer.output_elements(x) == layer(x).numel()


def test_a_transposed_conv_counts_its_gemm_outputs_before_the_overlap_add() -> None:
    """N = C_out·k² rows per input pixel (the cost model's ``deconv``), and D = C_in/g."""
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    with photonic_mode(layer, NoiseConfig()):
        assert isinstance(layer, photonic_layers.PhotonicConvTranspose2d)
        x = torch.randn(2, 4, 5, 7)
        assert layer(x).shape == (2, 6, 10, 14)
        assert layer.output_elements(x) == 2 * 6 * 9 * 5 * 7 and layer.gemm_fan_in() == 2


def test_layers_over_the_graph_cap_take_float_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    seeds = {"chip_seed": 3, "noise_seed": 4}
    with torch.no_grad(), photonic_mode(conv, NoiseConfig(), **seeds):
        photonic = conv(x)
    conv(x).sum().backward()
    float_grad = x.grad
    x.grad = None
    monkeypatch.setattr(photonic_layers, "GRAPH_CONVERSIONS", 0)
    with photonic_mode(conv, NoiseConfig(), **seeds):
        out = conv(x)
        out.sum().backward()
    assert torch.allclose(out, photonic, atol=1e-6)  # exact + (photonic - exact)
    assert torch.allclose(x.grad, float_grad)


@pytest.mark.parametrize(
    "chunking",
    [lambda tiles, batch, lines, width: (1, 2), lambda tiles, batch, lines, width: (2, lines)],
    ids=["two-lines-of-one-image", "two-whole-images"],
)
def test_chunks_assemble_the_output_and_gradients_of_one_chunk(
    chunking: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = nn.Conv2d(4, 6, 3, padding=1)
    x = torch.randn(3, 4, 9, 7, requires_grad=True)
    config = NoiseConfig(crosstalk=False).scaled(0.0)  # deterministic; converters still round

    def run() -> list[torch.Tensor]:
        x.grad, conv.weight.grad = None, None
        with photonic_mode(conv, config):
            out = conv(x)  # autograd on: chunks concatenated
            out.square().sum().backward()
            with torch.no_grad():
                inference = conv(x)  # autograd off: chunks written into one output
        assert x.grad is not None and conv.weight.grad is not None
        return [out.detach(), inference, x.grad, conv.weight.grad]

    whole = run()
    assert torch.allclose(whole[0], whole[1], atol=1e-6)  # both ways of assembling agree
    monkeypatch.setattr(photonic_layers, "_chunking", chunking)
    for chunked, reference in zip(run(), whole, strict=True):
        # float32 tolerance: another chunk width is another summation order inside the matrix
        # products (2e-6 relative on an Intel Xeon, 2026-12-03)
        torch.testing.assert_close(chunked, reference, rtol=1e-5, atol=1e-5)
