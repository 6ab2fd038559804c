"""evaluators.noise.quant: DAC and ADC on known vectors, straight-through gradients."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from evaluators.noise import adc_quantize, dac_quantize
from evaluators.noise.quant import levels, quantize_codes, round_ste


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


def test_unsigned_dac_uses_the_whole_range_for_non_negative_values() -> None:
    """LT's QuantAct and LSQ: Qn = 0, Qp = 2^b − 1 when the activations never go negative."""
    u = torch.tensor([-0.5, 0.0, 0.2, 0.5, 1.0, 1.5])
    assert (levels(2), levels(2, signed=False), levels(4, signed=False)) == (1, 3, 15)
    assert torch.allclose(
        dac_quantize(u, bits=2, signed=False), torch.tensor([0.0, 0, 1, 2, 3, 3]) / 3
    )
