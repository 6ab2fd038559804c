"""Hardware configuration: every knob of the photonic cost model, with default, range and source.

Each field carries its valid range, unit and literature source in its metadata (see
:mod:`evaluators.options`), so validation and error messages read the same table as the
documentation. Defaults are DOTA-B as Lightening-Transformer (LT) builds and SimPhony (SP)
configures it (see :mod:`.presets`); sources cite the files of docs/photonic-model.md §2, and a
bare "§N" is a section of docs/photonic-model.md.

Modelling choices exposed as fields (default first):
- ``share_inputs`` True: the R tiles share one set of input encoders, so they work on the same
  input block and split the output rows (LT ``input_mod_sharing_flag``; SP's partition);
  False gives every tile its own and lets tiles take any work (§3).
- ``share_adcs`` True: the C cores of a tile sum their photocurrents into one TIA and ADC per node
  position, so they split the reduction (LT ``adc_share_flag``); False gives every node its own
  chain and lets the cores of a tile take any work (SP's partition: columns over W*C).
- ``laser_law`` "2^b" (LT/SP) or "4^b" (shot-noise limited, anchored at ``laser_anchor_bits``);
  ``laser_per_wavelength`` False applies S_PD to the detector's total power as LT/SP do, True
  multiplies the laser by N_lambda; ``il_coupling_db`` 0 and ``extinction_penalty`` False as LT
  (SP's 2 dB laser/comb path and 1/(1 - 10^(-ER/10)) factor are the options).
- ``sequential_groups`` False lets groups of a grouped conv share a cycle where the partition
  leaves cores free; True runs them one after another (§3's conservative variant).
- ``dram_pj_per_byte`` 62.4 pJ per byte (SP LT.yml); set 31.2 for LT's per-2-byte reading.
- ``weight_tuning`` "modulator" (DPTC, weights re-modulated every cycle) or a shifter name
  ("mems", "thermo-optic") for weight-stationary cores that pay programming latency.
- ``digital_overlap`` True hides digital op time behind photonic compute (§4.4).
- ``dac_law`` "sp" / "lt", ``adc_law`` "sar" / "flash", ``modulator_charge`` "symbol" / "bit":
  converter and modulator scaling with bits (see :mod:`.devices`).
- ``gate_idle`` True: idle cores and tiles draw no dynamic energy, busy cores pay for all their
  lanes (LT charges work done); False: every device on every cycle (SP ``energy.py``).
Fixed choices (documented where they are made): TIAs and ADCs once per conversion
(:mod:`.energy`); stationary weights stay programmed across a window of modules that
fits into the cores (:mod:`.mapping`); the memory traffic model of :mod:`.memory`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from evaluators.options import Options, knob

from .devices import (
    ADC_LAWS,
    DAC_LAWS,
    LASER_LAWS,
    MODULATOR_CHARGE,
    SHIFTERS,
    STREAMED_WEIGHTS,
    WEIGHT_TUNING,
    Shifter,
)
from .errors import ConfigError
from .presets import DEFAULT_PRESET, PRESET_OVERRIDES

SP, LT = "SP configs/", "LT hardware_simulator/"
DPTC = SP + "design/cores/dptc.yml"
NATIVE_DAC, NATIVE_ADC = "native bits of the reference DAC", "native bits of the reference ADC"
RATES = "slowest of DAC, modulator, ADC x temporal_accumulation, PD"
LT_DEVICES = LT + "params default.yaml "
INTEGRATOR = "SP electronics/integrator.yml: 0.3"
NODE = "cal_core_area: (1.8 + 100 + 5.25 + 10 + 30) x (1.8 + 45 + 20) um"
BUFFERS = "entry_area_power_profile.py: 14.695 mm^2 of buffers for 2 MB"


@dataclass(frozen=True)
class HardwareConfig(Options):
    """A WDM photonic accelerator built from DPTC cores (docs/photonic-model.md §1-§5)."""

    label: ClassVar[str] = "hw."
    error: ClassVar[type[ConfigError]] = ConfigError

    # precision
    input_bits: int = knob(4, 2, "dac_ref_bits", "bit", DPTC, note=NATIVE_DAC)
    weight_bits: int = knob(4, 2, "dac_ref_bits", "bit", DPTC, note=NATIVE_DAC)
    adc_bits: int = knob(4, 2, "adc_ref_bits", "bit", DPTC, note=NATIVE_ADC)
    # array, parallelism and mapping
    rows: int = knob(12, 1, 512, "nodes", DPTC)
    cols: int = knob(12, 1, 512, "nodes", DPTC)
    wavelengths: int = knob(12, 1, 64, "channels", DPTC + "; crosstalk §6.2")
    tiles: int = knob(4, 1, 64, "tiles", SP + "design/sub_architectures/LT.yml (DOTA-B)")
    cores_per_tile: int = knob(2, 1, 16, "cores", SP + "design/sub_architectures/LT.yml")
    clock_ghz: float = knob(5.0, 0.0, "max_clock_ghz", "GHz", "LT, SP", open_low=True, note=RATES)
    temporal_accumulation: int = knob(3, 1, 16, "cycles", LT + "params Dota_B_4bit.yaml; " + DPTC)
    sign_passes: int = knob(1, 1, 2, "passes", "SP onnarchsim/workflow/dataflow.py")
    share_inputs: bool = knob(True, source=LT + "params Dota_B_4bit.yaml input_mod_sharing_flag")
    share_adcs: bool = knob(True, source=LT + "params Dota_B_4bit.yaml adc_share_flag")
    sequential_groups: bool = knob(False, source="docs/photonic-model.md §3")
    gate_idle: bool = knob(True, source="LT simulator_FFN.py: work done; SP energy.py: all cycles")
    # weight tuning and holds
    weight_tuning: str = knob("modulator", choices=WEIGHT_TUNING, source="§3")
    tuning_response_us: float | None = knob(None, 0.0, 1e4, "us", "None: the shifter's own value")
    node_shifter: str = knob("mems", choices=tuple(SHIFTERS), source=LT + "photonic_crossbar.py")
    thermal_bias_fraction: float = knob(0.5, 0.0, 1.0, "of P_pi", "assumption (§4.1)")
    mrr_hold_mw: float = knob(0.275, 0.0, 10.0, "mW", SP + "devices/photonics/mrr_rerouter.yml")
    # laser link budget
    laser_wpe: float = knob(
        0.2, 0.0, 1.0, "", SP + "devices/photonics/on_chip_laser.yml", open_low=True
    )
    pd_sensitivity_dbm: float = knob(-25.0, -40.0, 0.0, "dBm", SP + "photonics/photodetector.yml")
    laser_law: str = knob("2^b", choices=tuple(LASER_LAWS), source="LT, SP; §4.1")
    laser_anchor_bits: int = knob(4, 1, 16, "bit", "our choice (§4.1)")
    laser_per_wavelength: bool = knob(False, source="LT, SP: no N_lambda factor")
    extinction_penalty: bool = knob(False, source="SP onnarchsim/workflow/energy.py; LT: none")
    extinction_ratio_db: float = knob(10.0, 0.0, 40.0, "dB", SP + "mzm.yml", open_low=True)
    il_coupling_db: float = knob(0.0, 0.0, 30.0, "dB", "LT: on-chip laser; SP laser+comb: 2")
    il_modulator_db: float = knob(1.2, 0.0, 30.0, "dB", SP + "devices/photonics/mzm.yml")
    il_mrr_db: float = knob(0.93, 0.0, 30.0, "dB", SP + "devices/photonics/mrr_rerouter.yml")
    il_y_branch_db: float = knob(0.1, 0.0, 30.0, "dB", LT + "params default.yaml")
    il_coupler_db: float = knob(0.33, 0.0, 30.0, "dB", SP + "devices/photonics/coupler.yml")
    # converters, modulators, detection
    dac_law: str = knob("sp", choices=tuple(DAC_LAWS), source="SP energy.py; LT DAC.py")
    dac_ref_pj: float = knob(50 / 14, 0.0, 100.0, "pJ", SP + "electronics/dac.yml: 50 mW, 14 GS/s")
    dac_ref_bits: int = knob(8, 2, 16, "bit", SP + "devices/electronics/dac.yml")
    dac_rate_gsps: float = knob(14.0, 0.0, 100.0, "GS/s", SP + "dac.yml", open_low=True)
    adc_law: str = knob("sar", choices=tuple(ADC_LAWS), source="SP adc.yml; LT ADC.py")
    adc_ref_pj: float = knob(1.48, 0.0, 100.0, "pJ", SP + "devices/electronics/adc.yml")
    adc_ref_bits: int = knob(8, 2, 16, "bit", SP + "devices/electronics/adc.yml")
    adc_rate_gsps: float = knob(10.0, 0.0, 100.0, "GS/s", SP + "adc.yml", open_low=True)
    mod_pj_per_bit: float = knob(0.45, 0.0, 10.0, "pJ/bit", SP + "devices/photonics/mzm.yml")
    modulator_charge: str = knob("symbol", choices=tuple(MODULATOR_CHARGE), source="SP log")
    mod_rate_ghz: float = knob(12.5, 0.0, 100.0, "GHz", SP + "mzm.yml (EO)", open_low=True)
    pd_mw: float = knob(1.1, 0.0, 100.0, "mW", LT + "params default.yaml")
    tia_mw: float = knob(3.0, 0.0, 100.0, "mW", SP + "devices/electronics/tia.yml")
    integrator_mw: float = knob(0.0, 0.0, 100.0, "mW", "none in LT, SP dptc.yml; " + INTEGRATOR)
    pd_bandwidth_ghz: float = knob(20.0, 0.0, 100.0, "GHz", SP + "photodetector.yml", open_low=True)
    # area (§5)
    dac_area_um2: float = knob(11000.0, 0.0, 1e6, "um^2", SP + "devices/electronics/dac.yml")
    adc_area_um2: float = knob(2850.0, 0.0, 1e6, "um^2", SP + "devices/electronics/adc.yml")
    tia_area_um2: float = knob(50.0, 0.0, 1e6, "um^2", SP + "devices/electronics/tia.yml")
    mod_area_um2: float = knob(5200.0, 0.0, 1e6, "um^2", LT_DEVICES + "mzi_modulator 260 x 20")
    ring_area_um2: float = knob(23.04, 0.0, 1e6, "um^2", LT_DEVICES + "mrr_router 4.8 x 4.8")
    node_area_mm2: float = knob(0.00982, 0.0, 10.0, "mm^2", LT + "photonic_crossbar.py " + NODE)
    comb_area_mm2: float = knob(1.401856, 0.0, 100.0, "mm^2", LT_DEVICES + "micro_comb 1184^2")
    laser_area_mm2: float = knob(0.12, 0.0, 100.0, "mm^2", LT_DEVICES + "laser 400 x 300")
    scale_converter_area: bool = knob(False, source="§5: fixed at 8-bit area is conservative")
    # memory (§4.2)
    rf_pj_per_byte: float = knob(0.0365, 0.0, 100.0, "pJ/B", "LT params: 0.073 pJ per 2 B")
    sram_pj_per_byte: float = knob(0.46, 0.0, 100.0, "pJ/B", "LT params GB1: 0.92 pJ per 2 B")
    dram_pj_per_byte: float = knob(62.4, 0.0, 1000.0, "pJ/B", SP + "sub_architectures/LT.yml")
    dram_gbps: float = knob(1000.0, 0.0, 1e5, "GB/s", "LT, SP: HBM 1 TB/s", open_low=True)
    sram_kb: float = knob(2048.0, 0.0, 1e6, "KiB", "LT hardware/SRAM.py: <= 2 MB")
    sram_mm2_per_kb: float = knob(0.0071755, 0.0, 1.0, "mm^2/KiB", LT + BUFFERS)
    # digital electronics (§4.4)
    digital_pj_per_op: float = knob(0.1, 0.0, 10.0, "pJ", "assumption (§4.4)")
    digital_overlap: bool = knob(True, source="§4.4: overlaps photonic compute")
    digital_lanes: int = knob(256, 1, 1 << 20, "lanes", "assumption, used without overlap")
    digital_clock_ghz: float = knob(1.0, 0.0, 10.0, "GHz", "assumption", open_low=True)

    # derived quantities --------------------------------------------------------------------
    @property
    def cores(self) -> int:
        """R*C cores of the chip (how they share work: §3)."""
        return self.tiles * self.cores_per_tile

    @property
    def accumulation(self) -> int:
        """Accumulation steps per conversion: T cycles, times the C cores of a tile when they
        sum into one ADC. A conversion sums wavelengths * accumulation products."""
        return self.temporal_accumulation * (self.cores_per_tile if self.share_adcs else 1)

    @property
    def max_clock_ghz(self) -> float:
        """Fastest clock the converters, modulators and detectors allow (§4, §8)."""
        adc = self.adc_rate_gsps * self.temporal_accumulation  # one conversion per T cycles
        return min(self.dac_rate_gsps, self.mod_rate_ghz, adc, self.pd_bandwidth_ghz)

    @property
    def weight_shifter(self) -> Shifter | None:
        """The shifter holding stationary weights, or None when weights are streamed."""
        return None if self.weight_tuning == STREAMED_WEIGHTS else SHIFTERS[self.weight_tuning]

    @property
    def response_ns(self) -> float:
        """Time to reprogram one weight tile (0 for streamed weights)."""
        shifter = self.weight_shifter
        if shifter is None:
            return 0.0
        us = shifter.response_us if self.tuning_response_us is None else self.tuning_response_us
        return us * 1e3

    # construction ------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str) -> HardwareConfig:
        """A named preset (see :data:`PRESETS`)."""
        if name not in PRESETS:
            raise ConfigError(f"hw.preset={name!r}: unknown; valid: {', '.join(PRESETS)}")
        return PRESETS[name]

    @staticmethod
    def knows(key: str) -> bool:
        """Whether ``key`` (``hw.<name>``) is a hardware parameter: a field, an alias, preset."""
        name = key.removeprefix("hw.")
        return key.startswith("hw.") and (name in _FIELDS or name in _ALIASES or name == "preset")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> HardwareConfig:
        """Build from design params: ``hw.preset`` picks the base, ``hw.<field>`` overrides.

        Aliases: ``hw.bits`` sets both DAC precisions, ``hw.array_size`` sets rows = cols.
        Keys without the ``hw.`` prefix belong to the network and are ignored.
        """
        hw = {k[3:]: v for k, v in params.items() if k.startswith("hw.")}
        base = cls.preset(str(hw.pop("preset", DEFAULT_PRESET)))
        overrides: dict[str, Any] = {}
        for key, value in hw.items():
            for target in _ALIASES.get(key, (key,)):
                if target not in _FIELDS:
                    valid = ", ".join(["preset", *_ALIASES, *_FIELDS])
                    raise ConfigError(f"hw.{key}: unknown parameter; known: {valid}")
                if key in _ALIASES and target in hw:
                    continue  # an explicit field beats its alias
                overrides[target] = cls.coerce(target, value, f"hw.{key}")
        return dataclasses.replace(base, **overrides) if overrides else base


_ALIASES: dict[str, tuple[str, ...]] = {
    "bits": ("input_bits", "weight_bits"),
    "array_size": ("rows", "cols"),
}


_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(HardwareConfig))

PRESETS: dict[str, HardwareConfig] = {
    name: HardwareConfig(**overrides) for name, overrides in PRESET_OVERRIDES.items()
}
