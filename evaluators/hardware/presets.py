"""Named hardware presets, as overrides of the :class:`HardwareConfig` defaults.

The defaults themselves are the DOTA-B design of Lightening-Transformer as configured in SimPhony
(12x12 cores, 12 wavelengths, 4-bit converters, 5 GHz, 4 tiles x 2 cores, input encoders shared
across tiles and ADCs across the cores of a tile): SP ``configs/design/cores/dptc.yml`` and
``sub_architectures/LT.yml``, LT ``params/device_params/Dota_B_4bit.yaml``.
"""

from __future__ import annotations

from typing import Any

DEFAULT_PRESET = "lt-dota-b"

PRESET_OVERRIDES: dict[str, dict[str, Any]] = {
    # LT/SimPhony DOTA-B, 12x12x12, 4 bit, 5 GHz: the defaults.
    DEFAULT_PRESET: {},
    # LT Dota_B_8bit.yaml: the same chip with 8-bit converters.
    "lt-dota-b-8bit": {"input_bits": 8, "weight_bits": 8, "adc_bits": 8},
    # DOTA-L: 8 tiles x 2 cores (LT readme, SP LT.yml).
    "lt-dota-l": {"tiles": 8},
    # One 12x12x12 DPTC core without sharing: the "default core" of docs/photonic-model.md §4.3.
    "dptc-core": {"tiles": 1, "cores_per_tile": 1, "share_converters": False},
    # Weight-stationary variants of DOTA-B: weights held in MEMS (2 us) or thermo-optic (10 us)
    # shifters instead of being re-modulated every cycle (LT's MZI baseline, §3).
    "dota-b-mems": {"weight_tuning": "mems"},
    "dota-b-thermal": {"weight_tuning": "thermo-optic", "node_shifter": "thermo-optic"},
}
