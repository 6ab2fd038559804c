"""evaluators.noise.crosstalk: the ring-bank leakage table and its error."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from evaluators.noise.crosstalk import crosstalk_matrix
from tests.support.noise import IDEAL, infer, relative_error


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
        relative_error(infer(layer, x, replace(IDEAL, crosstalk=True, wavelengths=w)), ref)
        for w in (4, 8, 12, 16, 32)
    ]
    assert errors == sorted(errors)
    assert errors[-1] > 3 * errors[2]
    assert errors[2] < 0.05  # small at the default 12 wavelengths
    assert relative_error(infer(layer, x, replace(IDEAL, wavelengths=32)), ref) < 1e-3
