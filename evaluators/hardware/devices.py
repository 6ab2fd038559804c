"""Device laws and catalogues: converter energy scaling, laser precision factor, phase shifters.

Each table maps the name a configuration uses to a law or a datasheet entry, so switching a
modelling choice is a one-word config change and adding a device is a one-line table entry.

Converters (docs/photonic-model.md §4): energy per conversion is ``E_ref * law(b) / law(b_ref)``.
DAC laws: ``sp`` = 2^b/(b+1) (SimPhony, SP ``configs/devices/electronics/dac.yml``), ``lt`` =
2^b/b (LT ``hardware/DAC.py``). ADC laws: ``sar`` = b, linear in bits (SP ``electronics/adc.yml``,
LT ``hardware/ADC.py``); ``flash`` = 2^b - 1 comparators. Bits above a reference's native bits are
rejected by the configuration rather than extrapolated into the thermal-noise (4^b) regime.

Laser precision factor F(b) (§4.1): ``2^b`` as in LT and SP (receiver noise independent of optical
power); ``4^b`` for a shot-noise-limited receiver, written 2^a * 4^(b - a) so both laws agree at
the anchor precision a (our choice, default a = 4 bits).

Modulator charge: ``symbol`` charges one bit per analog symbol (SimPhony's 4-bit example, 0.45 pJ
per symbol); ``bit`` charges e_mod once per bit of the symbol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BitsLaw = Callable[[int], float]

DAC_LAWS: dict[str, BitsLaw] = {
    "sp": lambda b: 2.0**b / (b + 1),
    "lt": lambda b: 2.0**b / b,
}

ADC_LAWS: dict[str, BitsLaw] = {
    "sar": lambda b: float(b),
    "flash": lambda b: 2.0**b - 1.0,
}

LASER_LAWS: dict[str, Callable[[int, int], float]] = {
    "2^b": lambda b, anchor: 2.0**b,
    "4^b": lambda b, anchor: 2.0**anchor * 4.0 ** (b - anchor),
}

MODULATOR_CHARGE: dict[str, BitsLaw] = {
    "symbol": lambda b: 1.0,
    "bit": lambda b: float(b),
}


@dataclass(frozen=True)
class Shifter:
    """A phase-shifter technology: how fast it retunes and what it costs to hold a setting."""

    p_pi_mw: float  # power to hold a pi shift; held power = p_pi * bias fraction
    response_us: float  # settling time after a new setting
    insertion_loss_db: float
    source: str


SHIFTERS: dict[str, Shifter] = {
    "mems": Shifter(0.0, 2.0, 0.33, "SP photonics/phase_shifter.yml; LT MZI reprogramming 2 us"),
    "thermo-optic": Shifter(30.0, 10.0, 0.25, "SP photonics/phase_shifter.yml"),
}

# Weight tuning: "modulator" streams weights through fast modulators every cycle (the DPTC, no
# programming latency); any shifter name holds weights stationary in that shifter technology.
STREAMED_WEIGHTS = "modulator"
WEIGHT_TUNING: tuple[str, ...] = (STREAMED_WEIGHTS, *SHIFTERS)


def converter_energy(law: BitsLaw, bits: int, ref_pj: float, ref_bits: int) -> float:
    """Energy per conversion in pJ, scaled from a reference converter along ``law``."""
    return ref_pj * law(bits) / law(ref_bits)
