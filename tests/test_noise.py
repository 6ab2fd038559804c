"""Photonic noise and quantization in the forward pass (docs/photonic-model.md §6)."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.fx import GraphModule, Tracer

from evaluators.noise import (
    NoiseConfig,
    NoiseConfigError,
    PhotonicConv2d,
    PhotonicLinear,
    adc_quantize,
    attach_noise,
    dac_quantize,
    detach_noise,
    photonic_mode,
)
from evaluators.noise import layers as photonic_layers
from evaluators.noise.config import SIGMA_FIELDS
from evaluators.noise.crosstalk import crosstalk_matrix
from evaluators.noise.quant import quantize_codes, round_ste
from evaluators.noise.randomness import ChipErrors

torch.set_num_threads(1)

IDEAL = NoiseConfig(
    input_bits=16, weight_bits=16, adc_bits=16, adc_gain=1.0, crosstalk=False
).scaled(0.0)
"""No noise, no crosstalk, 16-bit converters, unit gain (no clipping): float, reproduced."""

STATIC_ONLY = NoiseConfig(sigma_in=0.0, sigma_w=0.0, sigma_out=0.0, sigma_in_static=0.05)
DYNAMIC_ONLY = NoiseConfig(sigma_w_static=0.0)


def _relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest deviation relative to the largest reference output."""
    return float((out - ref).abs().max() / ref.abs().max())


def _small_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 1),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 5),
    ).eval()


def _run(
    model: nn.Module, x: torch.Tensor, config: NoiseConfig | None, **seeds: int
) -> torch.Tensor:
    """Forward under photonic_mode (None: float), without autograd."""
    with torch.no_grad(), photonic_mode(model, config, **seeds):
        out: torch.Tensor = model(x)
    return out


# --- noise off is float ----------------------------------------------------------------------

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
    out = _run(layer, x, replace(IDEAL, wavelengths=wavelengths, temporal_accumulation=cycles))
    assert out.shape == ref.shape
    assert _relative_error(out, ref) < 1e-3


def test_without_a_state_the_layers_are_their_parents() -> None:
    torch.manual_seed(2)
    conv, linear = PhotonicConv2d(4, 6, 3, padding=1), PhotonicLinear(6, 3)
    x, rows = torch.randn(2, 4, 5, 5), torch.randn(3, 6)
    assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1))
    assert torch.equal(linear(rows), F.linear(rows, linear.weight, linear.bias))
    assert list(conv.state_dict()) == list(nn.Conv2d(4, 6, 3).state_dict())


def test_quantization_error_shrinks_with_converter_bits() -> None:
    model, x = _small_net(), torch.randn(2, 3, 12, 12)
    ref = model(x).detach()
    errors = [
        _relative_error(
            _run(model, x, replace(IDEAL, input_bits=b, weight_bits=b, adc_bits=b)), ref
        )
        for b in (4, 6, 8, 10)
    ]
    assert errors == sorted(errors, reverse=True)
    assert errors[0] > 0.1 and errors[2] < 0.1


def test_zero_blocks_and_unbatched_inputs() -> None:
    """All-zero blocks (common after ReLU) give exact zeros, not NaN, even with noise on."""
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = torch.zeros(3, 6, 6)
    out = _run(conv, x, NoiseConfig())
    assert out.shape == (4, 6, 6)
    assert torch.allclose(out, conv.bias.detach().view(4, 1, 1).expand(4, 6, 6), atol=1e-12)


# --- noise statistics -------------------------------------------------------------------------


def _zero_sum_linear(fan_in: int, blocks: int, rows: int = 8) -> nn.Linear:
    """Weights ±1 alternating within every block: with all-ones inputs each block sums to 0."""
    layer = nn.Linear(fan_in * blocks, rows, bias=False)
    signs = torch.tensor([1.0, -1.0]).repeat(fan_in * blocks // 2)
    layer.weight.data.copy_(signs.expand(rows, -1))
    return layer


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
    layer = _zero_sum_linear(n, blocks)
    out = _run(layer, torch.ones(2048, n * blocks), config)
    expected = blocks * 0.05**2 * n
    assert abs(out.mean().item()) < 4 * math.sqrt(expected / out.numel())
    assert out.var().item() == pytest.approx(expected, rel=0.06)


def test_adc_range_output_noise_is_a_fraction_of_the_full_scale() -> None:
    config = replace(IDEAL, sigma_out=0.01, output_noise="adc_range", adc_gain=2.0, noise_reuse=1)
    out = _run(_zero_sum_linear(12, 1), torch.ones(4096, 12), config)
    assert out.std().item() == pytest.approx(0.01 * 12 / 2.0, rel=0.05)


def test_input_noise_is_relative_to_the_block_full_scale() -> None:
    """Additive σ_in in units of s_x: a block with max 4 gets 4× the noise of a block with max 1."""
    config = replace(IDEAL, sigma_in=0.1, noise_reuse=1)
    layer = nn.Linear(12, 1, bias=False)
    layer.weight.data.fill_(1.0)
    out_small = _run(
        layer, torch.full((4096, 12), 0.5).index_fill(1, torch.tensor([0]), 1.0), config
    )
    out_large = _run(
        layer, torch.full((4096, 12), 2.0).index_fill(1, torch.tensor([0]), 4.0), config
    )
    expected_small = 0.1 * math.sqrt(12)
    assert out_small.std().item() == pytest.approx(expected_small, rel=0.05)
    assert out_large.std().item() == pytest.approx(4 * expected_small, rel=0.05)


def test_noise_reuse_keeps_the_statistics() -> None:
    config = replace(IDEAL, sigma_out=0.05, noise_reuse=64)
    layer = _zero_sum_linear(12, 2)
    outs = [_run(layer, torch.ones(4096, 24), config, noise_seed=s) for s in range(2)]
    for out in outs:
        assert out.var().item() == pytest.approx(2 * 0.05**2 * 12, rel=0.06)
    assert not torch.equal(outs[0], outs[1])


def test_padded_channels_are_dark() -> None:
    """D = 1 in a block of 12: only the live slot may carry noise, Var = (1+σ²)² − 1.

    Eleven noisy padded slots would add 11·σ⁴ = 0.69 to the 0.56 expected here.
    """
    config = replace(IDEAL, sigma_in=0.5, sigma_w=0.5, crosstalk=True, noise_reuse=1)
    layer = nn.Linear(1, 1, bias=False)
    layer.weight.data.fill_(1.0)
    out = torch.stack([_run(layer, torch.ones(64, 1), config, noise_seed=s) for s in range(64)])
    assert out.var().item() == pytest.approx((1 + 0.25) ** 2 - 1, rel=0.1)


# --- crosstalk --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fwhm", "neighbour_percent"),
    [(0.228, [0.82, 1.84, 3.22, 11.7]), (0.679, [6.87, 14.2, 22.8, 54.1])],
)
def test_crosstalk_matrix_reproduces_the_table(fwhm: float, neighbour_percent: list[float]) -> None:
    """docs/photonic-model.md §6.2 table, FSR 10 nm, N_λ = 8, 12, 16, 32."""
    for wavelengths, expected in zip([8, 12, 16, 32], neighbour_percent, strict=True):
        matrix = crosstalk_matrix(wavelengths, fwhm, 10.0)
        assert torch.equal(matrix, matrix.T)
        assert torch.all(matrix.diagonal() == 1.0)
        assert 100 * matrix[0, 1].item() == pytest.approx(expected, abs=0.05)


def test_crosstalk_error_grows_with_wavelength_count() -> None:
    torch.manual_seed(3)
    layer = nn.Linear(96, 16)
    x = torch.rand(256, 96)
    ref = layer(x).detach()
    errors = [
        _relative_error(_run(layer, x, replace(IDEAL, crosstalk=True, wavelengths=w)), ref)
        for w in (4, 8, 12, 16, 32)
    ]
    assert errors == sorted(errors)
    assert errors[-1] > 3 * errors[2]
    assert errors[2] < 0.05  # small at the default 12 wavelengths
    assert _relative_error(_run(layer, x, replace(IDEAL, wavelengths=32)), ref) < 1e-3


# --- seeds: static versus dynamic -------------------------------------------------------------


def test_same_seeds_give_identical_outputs() -> None:
    model, x = _small_net(), torch.randn(2, 3, 10, 10)
    first = _run(model, x, NoiseConfig(), chip_seed=3, noise_seed=4)
    assert torch.equal(first, _run(model, x, NoiseConfig(), chip_seed=3, noise_seed=4))


def test_chip_seed_changes_static_errors_only() -> None:
    model, x = _small_net(), torch.randn(2, 3, 10, 10)
    chip_a = _run(model, x, STATIC_ONLY, chip_seed=0)
    assert not torch.equal(chip_a, _run(model, x, STATIC_ONLY, chip_seed=1))
    assert torch.equal(chip_a, _run(model, x, STATIC_ONLY, chip_seed=0, noise_seed=9))
    dynamic = _run(model, x, DYNAMIC_ONLY, chip_seed=0, noise_seed=5)
    assert torch.equal(dynamic, _run(model, x, DYNAMIC_ONLY, chip_seed=1, noise_seed=5))


def test_static_errors_repeat_and_dynamic_noise_is_redrawn_every_pass() -> None:
    model, x = _small_net(), torch.randn(2, 3, 10, 10)
    for config, same in ((STATIC_ONLY, True), (DYNAMIC_ONLY, False)):
        with torch.no_grad(), photonic_mode(model, config):
            assert torch.equal(model(x), model(x)) is same


def test_static_offsets_are_indexed_by_physical_device() -> None:
    chip = ChipErrors(seed=0, rows=4, cols=5, wavelengths=3)
    weights = chip.for_weights(out_rows=10, fan_in=6)  # rows r and r+4 share an encoder
    assert torch.equal(weights[0], weights[4]) and torch.equal(weights[1], weights[9])
    assert torch.equal(weights[:, :3], weights[:, 3:])  # second accumulation cycle, same rings
    assert not torch.equal(weights[0], weights[1])
    inputs = chip.for_inputs(batch=2, pixels=7, fan_in=3)  # GEMM column p = b·7 + l
    assert torch.equal(inputs[0, :, 0], inputs[0, :, 5])
    assert torch.equal(inputs[0, :, 5], inputs[1, :, 3])  # columns 5 and 10 = 5 + 5
    assert torch.equal(inputs[0, :, 0], chip.input_offsets[0])


# --- converters and straight-through gradients ------------------------------------------------


def test_adc_on_known_vectors() -> None:
    """4 bits (q_o = 7), full scale 12: step 12/7, clipped at ±12."""
    y = torch.tensor([0.0, 0.8, 0.9, 5.0, 12.0, 13.0, -100.0])
    step = 12 / 7
    expected = torch.tensor([0, 0, 1, 3, 7, 7, -7]) * step
    assert torch.allclose(adc_quantize(y, bits=4, full_scale=12.0), expected)
    assert torch.allclose(
        adc_quantize(y, bits=4, full_scale=6.0), torch.tensor([0, 1, 1, 6, 7, 7, -7]) * 6 / 7
    )


def test_dac_on_known_vectors() -> None:
    u = torch.tensor([-2.0, -1.0, -0.3, 0.0, 0.07, 0.5, 1.5])
    assert torch.allclose(dac_quantize(u, bits=2), torch.tensor([-1.0, -1, 0, 0, 0, 0, 1]))
    assert torch.allclose(dac_quantize(u, bits=4), torch.tensor([-7.0, -7, -2, 0, 0, 4, 7]) / 7)


@given(
    values=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=32),
    bits=st.integers(2, 16),
)
def test_dac_lands_on_the_grid_nearest_the_clipped_value(values: list[float], bits: int) -> None:
    u = torch.tensor(values, dtype=torch.float64)
    q = 2 ** (bits - 1) - 1
    out = dac_quantize(u, bits)
    assert torch.equal(out * q, torch.round(out * q))
    assert torch.all((out - u.clamp(-1, 1)).abs() <= 0.5 / q + 1e-12)


def test_straight_through_gradients() -> None:
    v = torch.tensor([-9.0, -2.4, 0.3, 6.6, 7.2], requires_grad=True)
    round_ste(v).sum().backward()
    assert torch.equal(v.grad, torch.ones(5))
    v.grad = None
    quantize_codes(v, 7).sum().backward()
    assert torch.equal(v.grad, torch.tensor([0.0, 1, 1, 1, 0]))


def test_gradients_flow_through_the_noisy_forward() -> None:
    model = _small_net().train()
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
        assert torch.allclose(chunked, reference, atol=1e-6)


# --- conversion -------------------------------------------------------------------------------


def test_photonic_mode_keeps_parameters_and_restores_the_model() -> None:
    model = _small_net()
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
    model = _small_net()
    outer = attach_noise(model, NoiseConfig(), chip_seed=1)
    with photonic_mode(model, NoiseConfig(), chip_seed=2) as inner:
        assert model[0].noise_state is inner and inner is not outer
    with photonic_mode(model, None):
        assert type(model[0]) is nn.Conv2d
    assert model[0].noise_state is outer
    detach_noise(model)
    assert type(model[0]) is nn.Conv2d


def test_attach_and_detach_for_training_loops() -> None:
    model, x = _small_net().train(), torch.randn(4, 3, 10, 10)
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
    model, x = _small_net(), torch.randn(1, 3, 8, 8)
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


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_bits", 1),
        ("adc_bits", 17),
        ("rows", 0),
        ("wavelengths", 2.5),
        ("temporal_accumulation", True),
        ("sigma_out", -0.1),
        ("adc_gain", 0.5),
        ("fsr_nm", 0.0),
        ("output_noise", "thermal"),
        ("crosstalk", 2),
        ("noise_reuse", 0),
    ],
)
def test_bad_config_names_the_field(field: str, value: object) -> None:
    pattern = rf"^noise\.{field}={value!r}(: expected| out of range: allowed|: one of)"
    with pytest.raises(NoiseConfigError, match=pattern) as info:
        NoiseConfig.create(**{field: value})
    assert "\n" not in str(info.value)


def test_from_hardware_reads_attributes_by_name() -> None:
    hw = SimpleNamespace(
        input_bits=6, weight_bits=5, adc_bits=8, rows=16, cols=8, wavelengths=9,
        temporal_accumulation=3, array_size=16,
    )  # fmt: skip
    config = NoiseConfig.from_hardware(hw, sigma_out=0.1)
    assert (config.input_bits, config.rows, config.cols, config.fan_in) == (6, 16, 8, 27)
    assert config.sigma_out == 0.1 and config.sigma_in == 0.03
    with pytest.raises(NoiseConfigError, match=r"^noise\.sigma_typo: unknown option; known: "):
        NoiseConfig.from_hardware(hw, sigma_typo=1.0)
    with pytest.raises(NoiseConfigError, match="lacks wavelengths"):
        NoiseConfig.from_hardware(
            SimpleNamespace(**{k: v for k, v in vars(hw).items() if k != "wavelengths"})
        )


def test_scaled_multiplies_every_sigma_and_nothing_else() -> None:
    base = NoiseConfig(sigma_in_static=0.01)
    high = base.scaled(3.0)
    assert high.sigma_in == pytest.approx(0.09) and high.sigma_in_static == pytest.approx(0.03)
    assert high.sigma_w == pytest.approx(3 * base.sigma_w)
    assert high.output_sigma == pytest.approx(3 * base.output_sigma)
    assert replace(high, **{f: getattr(base, f) for f in SIGMA_FIELDS}) == base
    assert base.output_sigma == pytest.approx(0.05 * math.sqrt(12))


# --- accuracy ordering ------------------------------------------------------------------------


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
        outs = [_run(model, test_images, config, chip_seed=c, noise_seed=c) for c in range(3)]
        return sum(out.argmax(1).ne(test_labels).float().mean().item() for out in outs) / 3

    floating = error(None)
    # at unit ADC gain: this compares precision and noise, not the gain's clipping
    eight_bit = error(NoiseConfig(input_bits=8, weight_bits=8, adc_bits=8, adc_gain=1.0))
    two_bit = error(NoiseConfig(input_bits=2, weight_bits=2, adc_bits=2, adc_gain=1.0).scaled(4))
    assert floating < 0.1
    assert eight_bit < floating + 0.1
    assert two_bit > eight_bit + 0.15
