"""Noise and quantization parameters of one photonic design (docs/photonic-model.md §6).

The seven hardware fields mirror the cost model's hardware description so that the tiling of the
forward pass is derived from the same numbers the cost model charges for (aihwkit #260). Every
sigma is a standard deviation in the unit named beside it (aihwkit #616), and a published value
is converted into that unit, not reused under another meaning: LT's noise-aware training
(``software_model/scripts/train_quant_transformer_with_noise.sh``: input 0.03, output 0.05) is
multiplicative, x + σ·|x|·ε on every encoded value and y + σ·|y|·ε on a layer's whole output
(``software_model/ops/quantize.py``), while this model's errors are additive per block and per
conversion (docs/photonic-model.md §6.4 derives the factors).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from evaluators.options import OptionError, Options, knob

__all__ = [
    "HARDWARE_FIELDS",
    "OUTPUT_NOISE_MODELS",
    "SIGMA_FIELDS",
    "HardwareLike",
    "NoiseConfig",
    "NoiseConfigError",
]


class NoiseConfigError(OptionError):
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

DPTC = "SimPhony configs/design/cores/dptc.yml"
LT = "Lightening-Transformer hardware_simulator/ "
AIHWKIT = "aihwkit: 0.0175 of w_max, split evenly with the static part"
LT_NOISE = "LT software_model/ops/quantize.py "
LT_INPUT_NOISE = 0.03  # LT: std of x + σ|x|ε on every encoded input
LT_OUTPUT_NOISE = 0.05  # LT: std of y + σ|y|ε on a layer's whole output
UNIFORM_RMS = 1 / math.sqrt(3.0)
"""RMS of |u| for u spread uniformly over [−1, 1] (or [0, 1]): a block's values over its range."""

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


INPUT_NOISE_MODES = ("auto", "exact", "folded")
"""How dynamic input-encoder noise is simulated: ``exact`` draws it per element of the unfolded
input; ``folded`` adds, to each conversion's output noise, the variance the input noise gives that
conversion (σ_in²·q²·Σ_j a_rj² over the block's weights a_r), so the same marginal noise per
output costs no draw per input element; it drops the correlation between the rows (output
channels) that read the same noisy input. ``auto``: folded where no gradient flows (scoring),
exact where noise-aware training differentiates through it, so training is as it always was."""

OUTPUT_NOISE_MODELS: dict[str, Callable[[int, float], float]] = {
    "sqrt_n": _sqrt_n,
    "adc_range": _adc_range,
}
"""Output-noise model name -> multiplier turning ``sigma_out`` into a std in product units.

Product units: one full-scale product |x̂·ŵ| = 1, so the ADC full scale is n/G of them.
"""


@dataclass(frozen=True)
class NoiseConfig(Options):
    """Converter resolutions, tiling and error magnitudes of the analog GEMM.

    Hardware (defaults: DOTA-B, docs/photonic-model.md §2): ``*_bits`` are converter
    resolutions; a GEMM tile is ``rows`` × ``cols`` dot-product nodes, each summing
    n = ``wavelengths`` · ``temporal_accumulation`` products per ADC conversion, the steps being
    cycles of temporal accumulation times the cores of a tile that sum into one ADC (DOTA-B:
    3 x 2).

    Encoding errors, all additive and in DAC full-scale units (fraction of the block scale
    s_x or s_w, i.e. of the largest |value| in the block): ``sigma_in`` (dynamic, input
    encoders: LT's multiplicative 0.03 on |x| at equal noise power over a block whose values
    spread uniformly over its range, 0.03/√3), ``sigma_w`` (dynamic, weight encoders) and the
    static per-device offsets
    ``sigma_in_static`` (indexed by column and wavelength) and ``sigma_w_static`` (by row and
    wavelength). aihwkit's weight noise 0.0175 (relative to w_max) is split evenly in variance
    between ``sigma_w`` and ``sigma_w_static`` (0.0175/√2 each); no published figure exists for
    static input-encoder offsets, so ``sigma_in_static`` defaults to 0.

    ``sigma_out`` (dynamic) is turned into a std per conversion by ``output_noise``:
    ``"sqrt_n"`` gives sigma_out·√n in product units (σ_out·G/√n of the ADC range);
    ``"adc_range"`` gives sigma_out·n/G, a fixed fraction of the ADC range (aihwkit). Its default
    is LT's 0.05 on a layer's whole output |y| converted to the "sqrt_n" unit: a block of n
    products of uniformly spread, independently signed operands has RMS √n/3 products and
    block noises add in variance like the blocks' sums, so 0.05·√n/3 per conversion, 0.05/3.

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
    ``input_noise`` is one too (``INPUT_NOISE_MODES``): ``folded`` moves the input noise's
    variance into the output noise of each conversion, which cuts the cost of scoring a design
    by about a third (benchmarks/RESULTS.md, cheaper input noise); ``auto`` does so in scoring
    only.
    """

    label: ClassVar[str] = "noise."
    error: ClassVar[type[NoiseConfigError]] = NoiseConfigError

    input_bits: int = knob(4, 2, 16, "bit", DPTC)
    weight_bits: int = knob(4, 2, 16, "bit", DPTC)
    adc_bits: int = knob(4, 2, 16, "bit", DPTC)
    rows: int = knob(12, 1, 4096, "nodes", DPTC)
    cols: int = knob(12, 1, 4096, "nodes", DPTC)
    wavelengths: int = knob(12, 1, 256, "channels", DPTC)
    temporal_accumulation: int = knob(6, 1, 256, "steps", "HardwareConfig().accumulation: 3 x 2")
    sigma_in: float = knob(
        LT_INPUT_NOISE * UNIFORM_RMS, 0.0, 10.0, "of s_x, additive", LT_NOISE + "0.03 of |x|"
    )
    sigma_in_static: float = knob(0.0, 0.0, 10.0, "of s_x, additive", "no published figure: off")
    sigma_w: float = knob(0.0175 / math.sqrt(2.0), 0.0, 10.0, "of s_w, additive", AIHWKIT)
    sigma_w_static: float = knob(0.0175 / math.sqrt(2.0), 0.0, 10.0, "of s_w, additive", AIHWKIT)
    sigma_out: float = knob(
        LT_OUTPUT_NOISE / 3, 0.0, 10.0, "per conversion, x output_noise", LT_NOISE + "0.05 of |y|"
    )
    output_noise: str = knob("sqrt_n", choices=OUTPUT_NOISE_MODELS, source="TorchONN; aihwkit")
    adc_gain: float = knob(4.0, 1.0, 1e6, "", "CamVid sweep, benchmarks/RESULTS.md")
    crosstalk: bool = knob(True, source="docs/photonic-model.md §6.2")
    ring_fwhm_nm: float = knob(0.228, 1e-6, 1e3, "nm", "TorchONN ring, Q ~ 6 755")
    fsr_nm: float = knob(20.0, 1e-3, 1e4, "nm", "TorchONN")
    noise_reuse: int = knob(16, 1, 1024, "samples per normal", "simulation knob, not physics")
    input_noise: str = knob("auto", choices=INPUT_NOISE_MODES, source="simulation knob")

    @property
    def fan_in(self) -> int:
        """n = N_λ·steps: products summed by one ADC conversion, the block size along D."""
        return self.wavelengths * self.temporal_accumulation

    @property
    def output_sigma(self) -> float:
        """Std of the output noise per conversion, in product units."""
        return self.sigma_out * OUTPUT_NOISE_MODELS[self.output_noise](self.fan_in, self.adc_gain)

    @classmethod
    def from_hardware(cls, hw: HardwareLike | Any, **overrides: Any) -> NoiseConfig:
        """Read the seven hardware attributes by name from ``hw``; ``overrides`` win over both.

        A conversion sums N_λ·T products, times the C cores of a tile when they sum into one ADC:
        ``hw.accumulation`` (HardwareConfig's) gives those steps where ``hw`` has it.
        """
        missing = [name for name in HARDWARE_FIELDS if not hasattr(hw, name)]
        if missing:
            lacking = ", ".join(missing)
            raise NoiseConfigError(f"hardware object {type(hw).__name__} lacks {lacking}")
        values = {name: getattr(hw, name) for name in HARDWARE_FIELDS}
        values["temporal_accumulation"] = getattr(hw, "accumulation", hw.temporal_accumulation)
        return cls.create(**{**values, **overrides})

    def scaled(self, factor: float) -> NoiseConfig:
        """All five sigmas times ``factor`` ("high noise" runs, noise-range training).

        Crosstalk and quantization are deterministic properties of the design and stay as they are;
        static errors keep their chip draws, so ``scaled`` of one chip is the same chip, noisier.
        """
        if not 0.0 <= factor <= 1e3:
            raise NoiseConfigError(f"noise scale factor={factor!r} out of range: allowed [0, 1000]")
        return dataclasses.replace(self, **{n: getattr(self, n) * factor for n in SIGMA_FIELDS})
