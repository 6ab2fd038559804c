"""Chip area, additive over devices (docs/photonic-model.md §5), in mm².

Device counts from :mod:`.counts` (shared input encoders and TIA/ADC chains counted once).
Device areas from the references: DAC 11 000 µm² and ADC 2 850 µm² at their 8-bit references
(SP ``configs/devices/electronics/``, LT ``hardware/DAC.py``, ``ADC.py``), held fixed at lower bits
unless ``scale_converter_area`` scales them along the energy laws; TIA 50 µm², MZM 260 x 20 µm,
MRR router 4.8 x 4.8 µm, comb 1 184 x 1 184 µm, laser 400 x 300 µm (LT ``default.yaml``); a node
with its layout spacing 9 823 µm² (LT ``photonic_crossbar.py`` ``cal_core_area``); buffers
14.695 mm² per 2 MB (LT ``entry_area_power_profile.py``). The modulator component holds the
MZMs and their rings, as LT's "MZM" row does.
"""

from __future__ import annotations

from .config import HardwareConfig
from .counts import DeviceCounts
from .devices import ADC_LAWS, DAC_LAWS

UM2_PER_MM2 = 1e6


def _converter_scales(cfg: HardwareConfig) -> tuple[float, float, float]:
    """Area factors of input DAC, weight DAC and ADC relative to their 8-bit references."""
    if not cfg.scale_converter_area:
        return 1.0, 1.0, 1.0
    dac, adc = DAC_LAWS[cfg.dac_law], ADC_LAWS[cfg.adc_law]
    ref_dac, ref_adc = dac(cfg.dac_ref_bits), adc(cfg.adc_ref_bits)
    return (
        dac(cfg.input_bits) / ref_dac,
        dac(cfg.weight_bits) / ref_dac,
        adc(cfg.adc_bits) / ref_adc,
    )


def area_mm2(cfg: HardwareConfig) -> dict[str, float]:
    """Area by component."""
    chip = DeviceCounts.of(cfg)
    s_in, s_w, s_adc = _converter_scales(cfg)
    encoders = chip.input_encoders + chip.weight_encoders
    rings_um2 = chip.rings * cfg.ring_area_um2
    dac_um2 = (chip.input_encoders * s_in + chip.weight_encoders * s_w) * cfg.dac_area_um2
    return {
        "dac": dac_um2 / UM2_PER_MM2,
        "modulator": (encoders * cfg.mod_area_um2 + rings_um2) / UM2_PER_MM2,
        "adc": chip.channels * s_adc * cfg.adc_area_um2 / UM2_PER_MM2,
        "tia": chip.channels * cfg.tia_area_um2 / UM2_PER_MM2,
        "core": chip.nodes * cfg.node_area_mm2,
        "light_sources": chip.light_sources * (cfg.comb_area_mm2 + cfg.laser_area_mm2),
        "memory": cfg.sram_kb * cfg.sram_mm2_per_kb,
    }
