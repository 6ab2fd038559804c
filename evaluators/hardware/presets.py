"""Named hardware presets, as overrides of the :class:`HardwareConfig` defaults.

The defaults themselves are DOTA-B as Lightening-Transformer builds it (LT
``params/device_params/Dota_B_4bit.yaml``; SP ``configs/design/cores/dptc.yml`` and
``sub_architectures/LT.yml`` configure the same chip): 12x12 cores, 12 wavelengths, 4-bit
converters, 5 GHz, 4 tiles x 2 cores, temporal accumulation over 3 cycles, input encoders shared
across the tiles (which therefore split the output rows) and one TIA and ADC per node position
of a tile, into which its cores sum (so they split the reduction).
"""

from __future__ import annotations

from typing import Any

DEFAULT_PRESET = "lt-dota-b"

PRESET_OVERRIDES: dict[str, dict[str, Any]] = {
    # LT Dota_B_4bit.yaml: the defaults.
    DEFAULT_PRESET: {},
    # LT Dota_B_8bit.yaml: the same chip with 8-bit converters.
    "lt-dota-b-8bit": {"input_bits": 8, "weight_bits": 8, "adc_bits": 8},
    # DOTA-L: 8 tiles x 2 cores (LT readme, Dota_L_4bit.yaml).
    "lt-dota-l": {"tiles": 8},
    # DOTA-B as SimPhony maps it (SP onnarchsim/workflow/dataflow.py: N over H*R, M over W*C)
    # and charges it (energy.py: every device on every cycle): the cores of a tile work on
    # different columns, so each node converts its own outputs.
    "sp-dota-b": {"share_adcs": False, "gate_idle": False},
    # One 12x12x12 DPTC core (SP dptc.yml, T = 3) without sharing: docs/photonic-model.md §4.3.
    "dptc-core": {"tiles": 1, "cores_per_tile": 1, "share_inputs": False, "share_adcs": False},
    # Weight-stationary variants of DOTA-B: weights held in MEMS (2 us) or thermo-optic (10 us)
    # shifters instead of being re-modulated every cycle (LT's MZI baseline, §3).
    "dota-b-mems": {"weight_tuning": "mems"},
    "dota-b-thermal": {"weight_tuning": "thermo-optic", "node_shifter": "thermo-optic"},
}
