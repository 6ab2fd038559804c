"""Converter models (DAC and ADC) with straight-through gradients (docs/photonic-model.md §6.1, §7).

Both converters are symmetric mid-tread quantizers with q = 2^(b−1) − 1 levels per sign; an input
DAC fed only non-negative values (a layer after a ReLU) uses its whole range for them,
q = 2^b − 1 levels on [0, 1], as LT's and LSQ's unsigned activation quantizers do (LT
``software_model/ops/quantize.py`` ``QuantAct``: Qn = 0, Qp = 2^b − 1). The
tile works in *code units* (values pre-multiplied by q) so that one multiply per element does
scaling and quantization; :func:`dac_quantize` and :func:`adc_quantize` are the same step in
signal units, kept public so the converter can be unit-tested on known vectors (aihwkit #296).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["adc_quantize", "dac_quantize", "levels", "quantize_codes", "round_ste"]


def levels(bits: int, signed: bool = True) -> int:
    """Positive code levels of a b-bit converter: 2^(b−1) − 1 signed, 2^b − 1 unsigned."""
    return 2 ** (bits - 1) - 1 if signed else 2**bits - 1


class _RoundSTE(torch.autograd.Function):
    """Round to nearest in the forward pass, identity gradient in the backward pass."""

    @staticmethod
    def forward(ctx: Any, values: torch.Tensor) -> torch.Tensor:
        return torch.round(values)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad


def round_ste(values: torch.Tensor) -> torch.Tensor:
    """Straight-through rounding, so quantized layers still train (noise-aware training).

    The autograd Function is used only when a gradient is wanted: it costs ~8 µs a call.
    """
    if not (values.requires_grad and torch.is_grad_enabled()):
        return torch.round(values)
    out: torch.Tensor = _RoundSTE.apply(values)
    return out


def quantize_codes(values: torch.Tensor, q: int, signed: bool = True) -> torch.Tensor:
    """Integer codes round(clip(v, −q, q)) (unsigned: clip to [0, q]) of values in code units.

    The gradient is the clipped straight-through estimator: 1 inside the range, 0 where clipped.
    """
    return round_ste(torch.clamp(values, -q if signed else 0, q))


def dac_quantize(values: torch.Tensor, bits: int, signed: bool = True) -> torch.Tensor:
    """Q_b(u) = round(clip(u, −1, 1)·q)/q for u in DAC full-scale units; unsigned clips to
    [0, 1] and has q = 2^b − 1."""
    q = levels(bits, signed)
    return quantize_codes(values * q, q, signed) / q


def adc_quantize(values: torch.Tensor, bits: int, full_scale: float) -> torch.Tensor:
    """y_fs·clip(round(y·q_o/y_fs), −q_o, q_o)/q_o: the ADC of one conversion, in signal units."""
    q = levels(bits)
    return quantize_codes(values * (q / full_scale), q) * (full_scale / q)
