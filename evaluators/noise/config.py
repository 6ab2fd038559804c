"""Noise and quantization parameters of one photonic design (photonic-model.md §6).

The seven hardware fields mirror the cost model's hardware description so that the tiling of the
forward pass is derived from the same numbers the cost model charges for (aihwkit #260). Every
sigma is a standard deviation in the unit named beside it (aihwkit #616).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

__all__ = [
    "HARDWARE_FIELDS",
    "OUTPUT_NOISE_MODELS",
    "SIGMA_FIELDS",
    "HardwareLike",
    "NoiseConfig",
    "NoiseConfigError",
]


class NoiseConfigError(ValueError):
    """A noise configuration field is out of range: the message is one line naming the field."""


class HardwareLike(Protocol):
    """Anything carrying the seven hardware attributes (e.g. evaluators.hardware.HardwareConfig)."""

    input_bits: int
    weight_bits: int
    adc_bits: int
    rows: int
    cols: int
    wavelengths: int
    temporal_accumulation: int


HARDWARE_FIELDS: tuple[str, ...] = (
    "input_bits",
    "weight_bits",
    "adc_bits",
    "rows",
    "cols",
    "wavelengths",
    "temporal_accumulation",
)

SIGMA_FIELDS: tuple[str, ...] = (
    "sigma_in",
    "sigma_in_static",
    "sigma_w",
    "sigma_w_static",
    "sigma_out",
)


def _sqrt_n(fan_in: int, gain: float) -> float:
    """TorchONN's argument: unit-scale noise per product adds up to sigma·sqrt(n) per conversion."""
    return math.sqrt(fan_in)


def _adc_range(fan_in: int, gain: float) -> float:
    """aihwkit's convention: sigma is a fraction of the ADC full scale n/G, whatever n is."""
    return fan_in / gain


OUTPUT_NOISE_MODELS: dict[str, Callable[[int, float], float]] = {
    "sqrt_n": _sqrt_n,
    "adc_range": _adc_range,
}
"""Output-noise model name -> multiplier turning ``sigma_out`` into a std in product units.

Product units: one full-scale product |x̂·ŵ| = 1, so the ADC full scale is n/G of them.
"""

_INT_RANGES: dict[str, tuple[int, int]] = {
    "input_bits": (2, 16),
    "weight_bits": (2, 16),
    "adc_bits": (2, 16),
    "rows": (1, 4096),
    "cols": (1, 4096),
    "wavelengths": (1, 256),
    "temporal_accumulation": (1, 256),
    "noise_reuse": (1, 1024),
}
_FLOAT_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(SIGMA_FIELDS, (0.0, 10.0)),
    "adc_gain": (1.0, 1e6),
    "ring_fwhm_nm": (1e-6, 1e3),
    "fsr_nm": (1e-3, 1e4),
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _reject(name: str, value: object, allowed: str) -> NoReturn:
    raise NoiseConfigError(f"NoiseConfig.{name} = {value!r}: must be {allowed}")


@dataclass(frozen=True)
class NoiseConfig:
    """Converter resolutions, tiling and error magnitudes of the analog GEMM.

    Hardware (defaults: the DPTC core of photonic-model.md §2): ``*_bits`` are converter
    resolutions; a GEMM tile is ``rows`` × ``cols`` dot-product nodes, each summing
    n = ``wavelengths`` · ``temporal_accumulation`` products per ADC conversion.

    Encoding errors, all additive and in DAC full-scale units (fraction of the block scale
    s_x or s_w, i.e. of the largest |value| in the block): ``sigma_in`` (dynamic, input encoders,
    LT's 0.03), ``sigma_w`` (dynamic, weight encoders) and the static per-device offsets
    ``sigma_in_static`` (indexed by column and wavelength) and ``sigma_w_static`` (by row and
    wavelength). aihwkit's weight noise 0.0175 (relative to w_max) is split evenly in variance
    between ``sigma_w`` and ``sigma_w_static`` (0.0175/√2 each); no published figure exists for
    static input-encoder offsets, so ``sigma_in_static`` defaults to 0.

    ``sigma_out`` (dynamic, LT's 0.05) is turned into a std by ``output_noise``:
    ``"sqrt_n"`` gives sigma_out·√n in product units (σ_out·G/√n of the ADC range);
    ``"adc_range"`` gives sigma_out·n/G, a fixed fraction of the ADC range (aihwkit).

    ``adc_gain`` is G: the ADC full scale is n/G product units, so G > 1 resolves small sums
    finer and clips large ones (at G = 1 a 4-bit ADC steps by n/7 products, while sums of
    random-sign products only grow like √n). The default 4 comes from a sweep on CamVid
    (benchmarks/RESULTS.md): G = 2-4 keeps trained networks within a few points of float at
    4-6 bits, G = 1 loses most of the mIoU at 4 bits and G >= 8 clips too much.
    WDM crosstalk (``crosstalk``) uses a Lorentzian ring of
    ``ring_fwhm_nm`` with channels spaced ``fsr_nm``/N_λ: the defaults (TorchONN's Q ≈ 6 755
    ring, 0.228 nm, and a 20 nm FSR) leak 0.47 % to a neighbour at 12 wavelengths and 3.2 % at
    32. ``noise_reuse`` is a simulation knob, not physics: the CPU spends ~7 ns per fresh normal,
    more than the rest of the pipeline per element, so each drawn normal serves about that many
    dynamic-noise samples, at random offsets (``randomness.NoiseSource``); 1 is exact i.i.d.
    """

    input_bits: int = 4
    weight_bits: int = 4
    adc_bits: int = 4
    rows: int = 12
    cols: int = 12
    wavelengths: int = 12
    temporal_accumulation: int = 1
    sigma_in: float = 0.03
    sigma_in_static: float = 0.0
    sigma_w: float = 0.0175 / math.sqrt(2.0)
    sigma_w_static: float = 0.0175 / math.sqrt(2.0)
    sigma_out: float = 0.05
    output_noise: str = "sqrt_n"
    adc_gain: float = 4.0
    crosstalk: bool = True
    ring_fwhm_nm: float = 0.228
    fsr_nm: float = 20.0
    noise_reuse: int = 16

    def __post_init__(self) -> None:
        for name, (lo, hi) in _INT_RANGES.items():
            value = getattr(self, name)
            if not (_is_int(value) and lo <= value <= hi):
                _reject(name, value, f"an int in [{lo}, {hi}]")
        for name, (flo, fhi) in _FLOAT_RANGES.items():
            value = getattr(self, name)
            if not (_is_number(value) and flo <= value <= fhi):
                _reject(name, value, f"a number in [{flo}, {fhi}]")
        if self.output_noise not in OUTPUT_NOISE_MODELS:
            _reject("output_noise", self.output_noise, f"one of {sorted(OUTPUT_NOISE_MODELS)}")
        if not isinstance(self.crosstalk, bool):
            _reject("crosstalk", self.crosstalk, "True or False")

    @property
    def fan_in(self) -> int:
        """n = N_λ·T: products summed by one ADC conversion, the block size along D."""
        return self.wavelengths * self.temporal_accumulation

    @property
    def output_sigma(self) -> float:
        """Std of the output noise per conversion, in product units."""
        return self.sigma_out * OUTPUT_NOISE_MODELS[self.output_noise](self.fan_in, self.adc_gain)

    @classmethod
    def from_hardware(cls, hw: HardwareLike | Any, **overrides: Any) -> NoiseConfig:
        """Read the seven hardware attributes by name from ``hw``; ``overrides`` win over both."""
        missing = [name for name in HARDWARE_FIELDS if not hasattr(hw, name)]
        if missing:
            lacking = ", ".join(missing)
            raise NoiseConfigError(f"hardware object {type(hw).__name__} lacks {lacking}")
        return cls.create(**{name: getattr(hw, name) for name in HARDWARE_FIELDS}, **overrides)

    @classmethod
    def create(cls, **fields: Any) -> NoiseConfig:
        """The constructor, but an unknown field name is a NoiseConfigError, not a TypeError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise NoiseConfigError(f"NoiseConfig has no field {unknown[0]!r}")
        return cls(**fields)

    def scaled(self, factor: float) -> NoiseConfig:
        """All five sigmas times ``factor`` ("high noise" runs, noise-range training).

        Crosstalk and quantization are deterministic properties of the design and stay as they are;
        static errors keep their chip draws, so ``scaled`` of one chip is the same chip, noisier.
        """
        if not 0.0 <= factor <= 1e3:
            raise NoiseConfigError(f"NoiseConfig.scaled factor = {factor!r}: must be in [0, 1000]")
        return dataclasses.replace(self, **{n: getattr(self, n) * factor for n in SIGMA_FIELDS})
