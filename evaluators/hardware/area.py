"""Chip area, additive over devices (docs/photonic-model.md §5), in mm².

Counts follow SP ``dptc.yml``: per core H*N_lambda weight encoders (DAC + modulator) and
W*N_lambda input encoders (shared across the R tiles when ``share_converters``), H*W nodes each
with a TIA, H*W ADCs per core (shared by the C cores of a tile when sharing), R + C light sources
(comb and laser). Device areas: DAC 11 000 µm² and ADC 2 850 µm² at their 8-bit references (SP
``configs/devices/electronics/``), held fixed at lower bits unless ``scale_converter_area`` scales
them along the energy laws; MZM 5 300 µm², 0.01 mm² per node with routing, 1.4 mm² per comb,
0.117 mm² per laser and 14.5 mm² per 2 MB of SRAM are fill-ins derived from LT's DOTA-B breakdown
(60.3 mm² at 4 bits, LT ``readme.md``), which this model reproduces for the default preset.
"""

from __future__ import annotations

from .config import HardwareConfig
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
    h, w, lam, tiles, per_tile = cfg.rows, cfg.cols, cfg.wavelengths, cfg.tiles, cfg.cores_per_tile
    share = cfg.share_converters
    nodes = h * w * cfg.cores
    input_encoders = w * lam * per_tile * (1 if share else tiles)
    weight_encoders = h * lam * cfg.cores
    adcs = h * w * tiles * (1 if share else per_tile)
    s_in, s_w, s_adc = _converter_scales(cfg)
    sources = tiles + per_tile
    return {
        "dac": (input_encoders * s_in + weight_encoders * s_w) * cfg.dac_area_um2 / UM2_PER_MM2,
        "modulator": (input_encoders + weight_encoders) * cfg.mod_area_um2 / UM2_PER_MM2,
        "adc": adcs * s_adc * cfg.adc_area_um2 / UM2_PER_MM2,
        "tia": nodes * cfg.tia_area_um2 / UM2_PER_MM2,
        "core": nodes * cfg.node_area_mm2,
        "light_sources": sources * (cfg.comb_area_mm2 + cfg.laser_area_mm2),
        "memory": cfg.sram_kb * cfg.sram_mm2_per_kb,
    }
