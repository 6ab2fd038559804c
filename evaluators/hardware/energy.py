"""Photonic energy: device energy per event, static power, and per-layer energy by component.

Units: pJ per event, mW for power, GHz for the clock, so E[pJ] = P[mW]/f[GHz] and P[mW] * t[ns]
= E[pJ]. Equations from docs/photonic-model.md §4 (SP ``onnarchsim/workflow/energy.py``, LT
``hardware_simulator/simulator_FFN.py``)::

    E_DAC(b) = 3.571 pJ * law(b)/law(8)       law 2^b/(b+1) (SP) or 2^b/b (LT); 50 mW at 14 GS/s
    E_ADC(b) = 1.48 pJ * b/8                   SAR; flash: (2^b-1)/(2^8-1)
    E_mod    = 0.45 pJ/bit * (1 | b)           one bit per symbol (SP's 4-bit example) or per bit
    E_PD = P_PD/f (two per node), E_TIA = P_TIA/f per conversion

Dynamic energy of a layer (event counts from :mod:`.mapping`): DACs fire per operand symbol,
modulators per streamed symbol, photodiodes on every node-cycle, and a TIA with its ADC once per
conversion, i.e. once per T cycles of temporal accumulation (both references divide TIA and ADC
energy by T: SP ``dptc.yml`` temporal_accum_factor devices [adc, tia], LT ``ps_size``).

Static power, charged over each layer's elapsed time:
- laser (LT ``photonic_crossbar.py``): per core P_dBm = S_PD + IL_path + 10*log10(H*W),
  P = 10^(P_dBm/10)/eta_wpe * F(b_out); IL_path = coupling + modulator + 2*MRR +
  ceil(log2 max(H, W))*Y + (Y + node shifter + DC). LT has no coupling loss (an on-chip laser)
  and no extinction-ratio factor; SP's 2 dB laser/comb path (``il_coupling_db``) and its
  1/(1 - 10^(-ER/10)) (``extinction_penalty``) are options. Times N_lambda when
  ``laser_per_wavelength``; F from ``laser_law`` (see :mod:`.devices`).
- tuning: two MRR routers per modulator lane at P_MRR (:mod:`.counts`), 2*H*W node phase
  shifters per core (LT) and, for weight-stationary cores, H*N_lambda weight shifters per core,
  each shifter holding ``thermal_bias_fraction`` * P_pi (MEMS: P_pi = 0).
- detector: an integrator per TIA channel at ``integrator_mw`` when T > 1 (0 in the reference
  presets: neither reference has one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import HardwareConfig
from .counts import DeviceCounts
from .devices import ADC_LAWS, DAC_LAWS, LASER_LAWS, MODULATOR_CHARGE, SHIFTERS, converter_energy
from .mapping import ArrayMapping


@dataclass(frozen=True)
class DeviceEnergies:
    """Energy per event in pJ."""

    dac_input: float
    dac_weight: float
    mod_input: float
    mod_weight: float
    adc: float
    pd: float
    tia: float

    @classmethod
    def of(cls, cfg: HardwareConfig) -> DeviceEnergies:
        """Scale the reference devices to ``cfg``'s precisions and clock."""
        dac, charge = DAC_LAWS[cfg.dac_law], MODULATOR_CHARGE[cfg.modulator_charge]
        return cls(
            dac_input=converter_energy(dac, cfg.input_bits, cfg.dac_ref_pj, cfg.dac_ref_bits),
            dac_weight=converter_energy(dac, cfg.weight_bits, cfg.dac_ref_pj, cfg.dac_ref_bits),
            mod_input=cfg.mod_pj_per_bit * charge(cfg.input_bits),
            mod_weight=cfg.mod_pj_per_bit * charge(cfg.weight_bits),
            adc=converter_energy(
                ADC_LAWS[cfg.adc_law], cfg.adc_bits, cfg.adc_ref_pj, cfg.adc_ref_bits
            ),
            pd=cfg.pd_mw / cfg.clock_ghz,
            tia=cfg.tia_mw / cfg.clock_ghz,
        )


def path_loss_db(cfg: HardwareConfig) -> float:
    """Insertion loss from laser to detector of one core (LT ``photonic_crossbar.py``)."""
    splits = math.ceil(math.log2(max(cfg.rows, cfg.cols)))
    modulation = cfg.il_modulator_db + 2 * cfg.il_mrr_db + splits * cfg.il_y_branch_db
    node = cfg.il_y_branch_db + SHIFTERS[cfg.node_shifter].insertion_loss_db + cfg.il_coupler_db
    return cfg.il_coupling_db + modulation + node


def laser_power_mw(cfg: HardwareConfig) -> float:
    """Wall-plug laser power of the whole chip (all R*C cores)."""
    dbm = cfg.pd_sensitivity_dbm + path_loss_db(cfg) + 10 * math.log10(cfg.rows * cfg.cols)
    precision = LASER_LAWS[cfg.laser_law](cfg.adc_bits, cfg.laser_anchor_bits)
    extinction = 1 - 10 ** (-cfg.extinction_ratio_db / 10) if cfg.extinction_penalty else 1.0
    per_core = 10 ** (dbm / 10) / cfg.laser_wpe * precision / extinction
    return per_core * cfg.cores * (cfg.wavelengths if cfg.laser_per_wavelength else 1)


def static_power_mw(cfg: HardwareConfig) -> dict[str, float]:
    """Static power by component: laser, tuning and hold, detector integrators."""
    h, w, lam, cores = cfg.rows, cfg.cols, cfg.wavelengths, cfg.cores
    chip = DeviceCounts.of(cfg)
    bias = cfg.thermal_bias_fraction
    rings = chip.rings * cfg.mrr_hold_mw
    node_shifters = 2 * h * w * cores * SHIFTERS[cfg.node_shifter].p_pi_mw * bias
    held = cfg.weight_shifter
    weight_holds = 0.0 if held is None else h * lam * cores * held.p_pi_mw * bias
    integrating = cfg.temporal_accumulation > 1
    return {
        "laser": laser_power_mw(cfg),
        "tuning": rings + node_shifters + weight_holds,
        "detector": chip.channels * cfg.integrator_mw if integrating else 0.0,
    }


def photonic_energy_pj(
    cfg: HardwareConfig, mapping: ArrayMapping, latency_ns: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-layer energy (pJ) of the array: converters, modulators, detection, laser, holds."""
    dev, static = DeviceEnergies.of(cfg), static_power_mw(cfg)
    m = mapping
    return {
        "laser": static["laser"] * latency_ns,
        "dac": m.input_symbols * dev.dac_input + m.weight_symbols * dev.dac_weight,
        "modulator": m.input_symbols * dev.mod_input + m.weight_modulations * dev.mod_weight,
        "adc": m.conversions * dev.adc,
        "detector": m.node_cycles * 2 * dev.pd
        + m.conversions * dev.tia
        + static["detector"] * latency_ns,
        "tuning": static["tuning"] * latency_ns,
    }
