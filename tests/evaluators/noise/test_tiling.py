"""evaluators.noise.tiling: float with noise off, the noise statistics, accuracy."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from evaluators.noise import NoiseConfig, tiling
from evaluators.noise.layers import signed_input
from evaluators.noise.state import NoiseState
from evaluators.noise.tiling import prepare_weights, tile_matmul
from tests.support.noise import IDEAL, infer, relative_error, small_net, zero_sum_linear

LAYERS = {
    "standard": lambda: nn.Conv2d(5, 7, 3, padding=1),
    "depthwise": lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8),
    "grouped_strided_dilated": lambda: nn.Conv2d(
        8, 12, 3, stride=2, padding=2, dilation=2, groups=4
    ),
    "rectangular_valid": lambda: nn.Conv2d(6, 4, (3, 2), stride=(2, 1)),
    "reflect_padding": lambda: nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
    "pointwise_no_bias": lambda: nn.Conv2d(30, 9, 1, bias=False),
    "linear": lambda: nn.Linear(30, 7),
    "transposed": lambda: nn.ConvTranspose2d(6, 5, 3, stride=2, padding=1, output_padding=1),
    "transposed_grouped_dilated": lambda: nn.ConvTranspose2d(
        8, 4, 2, stride=2, dilation=2, groups=2, bias=False
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize(("wavelengths", "cycles"), [(12, 1), (5, 2)])
def test_noise_off_matches_float(name: str, wavelengths: int, cycles: int) -> None:
    """Within 1e-3 of the largest output (16-bit converters leave ~1e-4)."""
    torch.manual_seed(1)
    layer = LAYERS[name]()
    shape = (2, 3, 30) if isinstance(layer, nn.Linear) else (2, layer.in_channels, 11, 13)
    x = torch.randn(shape)
    ref = layer(x).detach()
    out = infer(layer, x, replace(IDEAL, wavelengths=wavelengths, temporal_accumulation=cycles))
    assert out.shape == ref.shape
    assert relative_error(out, ref) < 1e-3


def test_quantization_error_shrinks_with_converter_bits() -> None:
    model, x = small_net(), torch.randn(2, 3, 12, 12)
    ref = model(x).detach()
    errors = [
        relative_error(
            infer(model, x, replace(IDEAL, input_bits=b, weight_bits=b, adc_bits=b)), ref
        )
        for b in (4, 6, 8, 10)
    ]
    assert errors == sorted(errors, reverse=True)
    assert errors[0] > 0.1 and errors[2] < 0.1


def test_zero_blocks_and_unbatched_inputs() -> None:
    """All-zero blocks (common after ReLU) give exact zeros, not NaN, even with noise on."""
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = torch.zeros(3, 6, 6)
    out = infer(conv, x, NoiseConfig())
    assert out.shape == (4, 6, 6)
    assert torch.allclose(out, conv.bias.detach().view(4, 1, 1).expand(4, 6, 6), atol=1e-12)


@pytest.mark.parametrize(("wavelengths", "cycles"), [(4, 1), (8, 1), (8, 2), (16, 2)])
@pytest.mark.parametrize("blocks", [1, 3])
def test_output_noise_variance_grows_with_fan_in(
    wavelengths: int, cycles: int, blocks: int
) -> None:
    """Var(Y) = nb·σ_out²·n for the default sqrt_n model (16-bit ADC: quantization negligible)."""
    n = wavelengths * cycles
    config = replace(
        IDEAL, sigma_out=0.05, wavelengths=wavelengths, temporal_accumulation=cycles, noise_reuse=1
    )
    layer = zero_sum_linear(n, blocks)
    out = infer(layer, torch.ones(2048, n * blocks), config)
    expected = blocks * 0.05**2 * n
    assert abs(out.mean().item()) < 4 * math.sqrt(expected / out.numel())
    assert out.var().item() == pytest.approx(expected, rel=0.06)


def test_adc_range_output_noise_is_a_fraction_of_the_full_scale() -> None:
    config = replace(IDEAL, sigma_out=0.01, output_noise="adc_range", adc_gain=2.0, noise_reuse=1)
    out = infer(zero_sum_linear(12, 1), torch.ones(4096, 12), config)
    assert out.std().item() == pytest.approx(0.01 * 12 / 2.0, rel=0.05)


@pytest.mark.parametrize("blocks", [1, 3])
def test_folded_input_noise_gives_each_output_the_exact_variance(blocks: int) -> None:
    """``input_noise: folded`` moves σ_in into each conversion's output noise: per output the
    same variance as drawing it per input element, beside output noise and across blocks."""
    torch.manual_seed(0)
    layer = nn.Linear(12 * blocks, 6, bias=False)
    x = torch.randn(1, 12 * blocks).expand(6000, -1)
    exact = replace(IDEAL, sigma_in=0.05, sigma_out=0.02, noise_reuse=1)
    ideal = infer(layer, x[:1], IDEAL)
    spreads = {
        mode: (infer(layer, x, replace(exact, input_noise=mode)) - ideal).std(0)
        for mode in ("exact", "folded")
    }
    assert torch.allclose(spreads["folded"], spreads["exact"], rtol=0.06)
    without_input = (infer(layer, x, replace(exact, sigma_in=0.0)) - ideal).std(0)
    assert (spreads["folded"] > 1.2 * without_input).all()  # the input noise is there


def test_auto_folds_the_input_noise_when_scoring_and_draws_it_when_training() -> None:
    """``input_noise: auto`` (the default): eval mode is ``folded``, train mode ``exact``, so
    noise-aware training is what it was and scoring saves the draws per input element."""
    torch.manual_seed(0)
    layer, x = nn.Linear(24, 6), torch.randn(8, 24)
    outputs = {}
    for mode in ("auto", "exact", "folded"):
        for training in (False, True):
            config = replace(NoiseConfig(), input_noise=mode)
            outputs[mode, training] = infer(layer.train(training), x, config, noise_seed=5)
    assert torch.equal(outputs["auto", False], outputs["folded", False])
    assert torch.equal(outputs["auto", True], outputs["exact", True])
    assert not torch.equal(outputs["auto", False], outputs["exact", False])


def test_input_noise_is_relative_to_the_block_full_scale() -> None:
    """Additive σ_in in units of s_x: a block with max 4 gets 4× the noise of a block with max 1."""
    config = replace(IDEAL, sigma_in=0.1, noise_reuse=1)
    layer = nn.Linear(12, 1, bias=False)
    layer.weight.data.fill_(1.0)
    out_small = infer(
        layer, torch.full((4096, 12), 0.5).index_fill(1, torch.tensor([0]), 1.0), config
    )
    out_large = infer(
        layer, torch.full((4096, 12), 2.0).index_fill(1, torch.tensor([0]), 4.0), config
    )
    expected_small = 0.1 * math.sqrt(12)
    assert out_small.std().item() == pytest.approx(expected_small, rel=0.05)
    assert out_large.std().item() == pytest.approx(4 * expected_small, rel=0.05)


def test_padded_channels_are_dark() -> None:
    """D = 1 in a block of 12: only the live slot may carry noise, Var = (1+σ²)² − 1.

    Eleven noisy padded slots would add 11·σ⁴ = 0.69 to the 0.56 expected here.
    """
    config = replace(IDEAL, sigma_in=0.5, sigma_w=0.5, crosstalk=True, noise_reuse=1)
    layer = nn.Linear(1, 1, bias=False)
    layer.weight.data.fill_(1.0)
    out = torch.stack([infer(layer, torch.ones(64, 1), config, noise_seed=s) for s in range(64)])
    assert out.var().item() == pytest.approx((1 + 0.25) ** 2 - 1, rel=0.1)


def _quadrant_task(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """8×8 images with a bright 3×3 spot; the label is the quadrant holding it."""
    labels = torch.randint(0, 4, (count,), generator=generator)
    images = 0.3 * torch.randn(count, 1, 8, 8, generator=generator)
    top = (labels // 2) * 4 + torch.randint(0, 2, (count,), generator=generator)
    left = (labels % 2) * 4 + torch.randint(0, 2, (count,), generator=generator)
    for i in range(count):
        images[i, 0, top[i] : top[i] + 3, left[i] : left[i] + 3] += 1.0
    return images, labels


def test_low_precision_and_high_noise_lose_accuracy() -> None:
    """Same trained network: 2 bits with 4× noise errs more than 8 bits with default noise."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.ReLU(), nn.Flatten(), nn.Linear(128, 4),
    )  # fmt: skip
    images, labels = _quadrant_task(512, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        batch = torch.randint(0, 512, (64,), generator=generator)
        optimizer.zero_grad()
        F.cross_entropy(model(images[batch]), labels[batch]).backward()
        optimizer.step()
    test_images, test_labels = _quadrant_task(512, generator)

    def error(config: NoiseConfig | None) -> float:
        """Mean test error over three chips (config None: float)."""
        outs = [infer(model, test_images, config, chip_seed=c, noise_seed=c) for c in range(3)]
        return sum(out.argmax(1).ne(test_labels).float().mean().item() for out in outs) / 3

    floating = error(None)
    # at unit ADC gain: this compares precision and noise, not the gain's clipping
    eight_bit = error(NoiseConfig(input_bits=8, weight_bits=8, adc_bits=8, adc_gain=1.0))
    two_bit = error(NoiseConfig(input_bits=2, weight_bits=2, adc_bits=2, adc_gain=1.0).scaled(4))
    assert floating < 0.1
    assert eight_bit < floating + 0.1
    assert two_bit > eight_bit + 0.15


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["non-negative", "with-negatives"])
def test_non_negative_inputs_get_the_unsigned_range(sign: float) -> None:
    """2-bit inputs: a non-negative layer input has q = 3 levels on [0, 1] (twice the signed 1
    per sign); one negative value anywhere in the input switches the layer to the signed range."""
    layer = nn.Linear(12, 1, bias=False)
    layer.weight.data.fill_(1.0)
    x = torch.linspace(0.0, 1.0, 12).repeat(4, 1)  # block maximum 1: s_x = 1
    x[3, 0] = -0.0 if sign > 0 else -1.0  # the last row holds the one negative value, or not
    out = infer(layer, x, replace(IDEAL, input_bits=2))
    q = 3 if sign > 0 else 1
    expected = (x[:3] * q).round().sum(1, keepdim=True) / q
    assert signed_input(x) is (sign < 0)
    assert torch.allclose(out[:3], expected, atol=1e-3)


def test_a_block_holding_the_whole_reduction_computes_its_live_slots_only() -> None:
    """D < n: the tile keeps the D live slots and gives what the n-wide block (dark padded
    weights against zero-padded inputs) gives, with the chip's errors, crosstalk and output
    noise. The dynamic input noise is folded: drawn per slot, 16 normals a column instead of 9
    would agree in distribution only."""
    config = NoiseConfig(
        wavelengths=8, temporal_accumulation=2, sigma_in_static=0.02, noise_reuse=1
    )
    assert config.sigma_out and config.sigma_w and config.crosstalk
    torch.manual_seed(0)
    weight, inputs = torch.randn(3, 4, 9), torch.rand(3, 9, 50)  # D = 9 < n = 16
    offsets = torch.randn(16, 50)  # static input offsets of the n slots of each column
    state = NoiseState.create(config, chip_seed=1, noise_seed=2)
    tiles = prepare_weights(weight, state, {}, signed_inputs=False, fold_input_noise=True)
    assert tiles.analog.shape == (3, 1, 4, 9)
    wide = replace(tiles, analog=F.pad(tiles.analog, (0, 7)))
    narrow = tile_matmul(inputs.clone(), tiles, NoiseState.create(config, 1, 2), offsets[:9])
    wide_in = F.pad(inputs, (0, 0, 0, 7))
    wide_out = tile_matmul(wide_in, wide, NoiseState.create(config, 1, 2), offsets)
    assert torch.allclose(narrow, wide_out, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv2d(6, 6, 3, padding=1, groups=6),
        nn.Conv2d(4, 8, 3, stride=2, groups=4),
        nn.Linear(5, 3),
    ],
    ids=["depthwise", "grouped-strided", "narrow-linear"],
)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_narrow_layers_match_their_padded_tiles(
    layer: nn.Module, signed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer whose reduction fits one block (D = 9, 9 and 5 < n = 16) gives the output of the
    n-wide tile it replaces, with the chip's static weight and input-offset errors and crosstalk
    (indexed by slot, so the same on both). Dynamic noise is off: the two tiles cut their columns
    into chunks of other sizes, so the same draws would land on other outputs."""
    config = replace(
        NoiseConfig(wavelengths=8, temporal_accumulation=2, sigma_in_static=0.02),
        sigma_in=0.0, sigma_w=0.0, sigma_out=0.0,
    )  # fmt: skip
    assert config.sigma_w_static and config.crosstalk
    torch.manual_seed(0)
    shape = (4, 7, 5) if isinstance(layer, nn.Linear) else (3, layer.in_channels, 9, 11)
    x = torch.randn(shape) if signed else torch.rand(shape)
    narrow = infer(layer, x, config, chip_seed=3)
    monkeypatch.setattr(tiling, "_live_slots", lambda analog, fan_in: analog)
    padded = infer(layer, x, config, chip_seed=3)
    assert torch.allclose(narrow, padded, atol=1e-5, rtol=1e-5)
