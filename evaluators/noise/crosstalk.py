"""WDM crosstalk of a micro-ring bank (docs/photonic-model.md §6.2).

A ring tuned to channel i also passes a Lorentzian fraction X(Δλ) = δ²/(Δλ² + δ²) of a channel
detuned by Δλ, with δ = FWHM/2. N_λ channels share one free spectral range, so neighbours sit
Δλ = FSR/N_λ apart and leakage grows quickly with the wavelength count.
"""

from __future__ import annotations

import torch

__all__ = ["crosstalk_matrix", "lorentzian_leakage"]


def lorentzian_leakage(detuning_nm: torch.Tensor, fwhm_nm: float) -> torch.Tensor:
    """Fraction of a channel detuned by ``detuning_nm`` that a ring of width ``fwhm_nm`` passes."""
    half_width_sq = (fwhm_nm / 2.0) ** 2
    return half_width_sq / (detuning_nm**2 + half_width_sq)


def crosstalk_matrix(wavelengths: int, fwhm_nm: float, fsr_nm: float) -> torch.Tensor:
    """C with C_ii = 1 and C_ij = X(|i−j|·FSR/N_λ): detected signal of channel i is Σ_j C_ij·x_j.

    Returned in float64 on the CPU (it is tiny); callers cast and move it where they need it.
    C is symmetric, which lets the tile apply it to the weight side instead of the inputs.
    """
    index = torch.arange(wavelengths, dtype=torch.float64)
    detuning = (index[:, None] - index[None, :]).abs() * (fsr_nm / wavelengths)
    return lorentzian_leakage(detuning, fwhm_nm)
