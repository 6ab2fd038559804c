"""HardwareConfig: defaults, presets, design params, and one-line errors for bad values."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evaluators.hardware import PRESETS, ConfigError, HardwareConfig


def test_default_is_the_lt_simphony_dota_b_preset() -> None:
    cfg = HardwareConfig.preset("lt-dota-b")
    assert cfg == HardwareConfig() == PRESETS["lt-dota-b"]
    assert (cfg.rows, cfg.cols, cfg.wavelengths) == (12, 12, 12)
    assert (cfg.input_bits, cfg.weight_bits, cfg.adc_bits, cfg.clock_ghz) == (4, 4, 4, 5.0)
    assert (cfg.tiles, cfg.cores_per_tile, cfg.cores) == (4, 2, 8)
    # LT Dota_B_4bit.yaml: time_accum_factor 3, input_mod_sharing_flag 1, adc_share_flag 1
    assert (cfg.temporal_accumulation, cfg.share_inputs, cfg.share_adcs) == (3, True, True)
    assert cfg.accumulation == 6  # 3 cycles x 2 cores summed into one ADC
    # no integrator, no coupling loss, no extinction-ratio factor: neither reference has them
    assert (cfg.integrator_mw, cfg.il_coupling_db, cfg.extinction_penalty) == (0.0, 0.0, False)


def test_presets_differ_where_their_sources_say() -> None:
    assert PRESETS["lt-dota-b-8bit"].adc_bits == 8
    assert PRESETS["lt-dota-l"].tiles == 8
    assert PRESETS["dptc-core"].cores == 1
    assert not PRESETS["sp-dota-b"].share_adcs and PRESETS["sp-dota-b"].share_inputs
    assert PRESETS["dota-b-mems"].response_ns == 2000.0
    assert PRESETS["dota-b-thermal"].response_ns == 10000.0
    assert PRESETS["lt-dota-b"].response_ns == 0.0  # weights streamed through modulators


def test_max_clock_is_set_by_the_slowest_converter() -> None:
    assert HardwareConfig(temporal_accumulation=1).max_clock_ghz == 10.0  # ADC 10 GS/s
    assert HardwareConfig().max_clock_ghz == 12.5  # T = 3: the MZM


def test_from_params_reads_hw_keys_aliases_and_preset() -> None:
    params = {"hw.preset": "dptc-core", "hw.bits": 6, "hw.array_size": 16, "arch.width": 8}
    cfg = HardwareConfig.from_params(params)
    assert (cfg.input_bits, cfg.weight_bits, cfg.adc_bits) == (6, 6, 4)
    assert (cfg.rows, cfg.cols, cfg.cores) == (16, 16, 1)


def test_from_params_explicit_field_beats_alias_and_coerces_types() -> None:
    params = {
        "hw.bits": 6,
        "hw.input_bits": 3,
        "hw.rows": np.int64(8),
        "hw.cols": 16.0,
        "hw.clock_ghz": "4.5",
        "hw.share_adcs": "false",
    }
    cfg = HardwareConfig.from_params(params)
    assert (cfg.input_bits, cfg.weight_bits) == (3, 6)
    assert (cfg.rows, cfg.cols, cfg.clock_ghz, cfg.share_adcs) == (8, 16, 4.5, False)
    assert type(cfg.rows) is int


def test_from_params_without_hw_keys_is_the_default_preset() -> None:
    assert HardwareConfig.from_params({"arch.block": "ghost"}) == HardwareConfig()


def test_tuning_response_override() -> None:
    cfg = HardwareConfig(weight_tuning="thermo-optic", tuning_response_us=4.0)
    assert cfg.response_ns == 4000.0


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"rows": -1}, ["rows=-1", "[1, 512]"]),
        ({"wavelengths": 0}, ["wavelengths=0", "[1, 64]"]),
        ({"input_bits": 9}, ["input_bits=9", "[2, 8]", "dac_ref_bits"]),
        ({"adc_bits": 1}, ["adc_bits=1", "[2, 8]"]),
        ({"clock_ghz": 13.0}, ["clock_ghz=13.0", "(0.0, 12.5]", "max_clock_ghz"]),
        (
            {"clock_ghz": 8.0, "adc_rate_gsps": 2.0},
            ["clock_ghz=8.0", "(0.0, 6.0]", "ADC x temporal_accumulation"],
        ),
        ({"weight_tuning": "magic"}, ["weight_tuning='magic'", "modulator, mems, thermo-optic"]),
        ({"rows": 2.5}, ["rows=2.5", "expected int"]),
        ({"share_inputs": 1}, ["share_inputs=1", "true or false"]),
        ({"laser_wpe": 0.0}, ["laser_wpe=0.0", "(0.0, 1.0]"]),
    ],
)
def test_bad_values_fail_in_one_line_naming_field_and_range(overrides, fragments) -> None:
    with pytest.raises(ConfigError) as info:
        dataclasses.replace(HardwareConfig(), **overrides)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_unknown_preset_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"hw\.preset='nope'.*lt-dota-b.*dptc-core"):
        HardwareConfig.preset("nope")
    with pytest.raises(ConfigError, match=r"hw\.preset='nope'"):
        HardwareConfig.from_params({"hw.preset": "nope"})


def test_unknown_hw_key_is_named_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        HardwareConfig.from_params({"hw.colums": 8})
    message = str(info.value)
    assert (
        message.startswith("hw.colums: unknown") and "cols" in message and "array_size" in message
    )
    assert "\n" not in message


def test_unparseable_param_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"hw\.rows='many': expected int"):
        HardwareConfig.from_params({"hw.rows": "many"})
    with pytest.raises(ConfigError, match=r"rows=2\.5"):
        HardwareConfig.from_params({"hw.rows": 2.5})
