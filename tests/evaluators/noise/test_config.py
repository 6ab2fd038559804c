"""evaluators.noise.config: validated fields, from_hardware and scaled sigmas."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from evaluators.hardware import HardwareConfig
from evaluators.noise import NoiseConfig, NoiseConfigError
from evaluators.noise.config import SIGMA_FIELDS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_bits", 1),
        ("adc_bits", 17),
        ("rows", 0),
        ("wavelengths", 2.5),
        ("temporal_accumulation", True),
        ("sigma_out", -0.1),
        ("adc_gain", 0.5),
        ("fsr_nm", 0.0),
        ("output_noise", "thermal"),
        ("crosstalk", 2),
        ("noise_reuse", 0),
    ],
)
def test_bad_config_names_the_field(field: str, value: object) -> None:
    pattern = rf"^noise\.{field}={value!r}(: expected| out of range: allowed|: one of)"
    with pytest.raises(NoiseConfigError, match=pattern) as info:
        NoiseConfig.create(**{field: value})
    assert "\n" not in str(info.value)


def test_from_hardware_reads_attributes_by_name() -> None:
    hw = SimpleNamespace(
        input_bits=6, weight_bits=5, adc_bits=8, rows=16, cols=8, wavelengths=9,
        temporal_accumulation=3, array_size=16,
    )  # fmt: skip
    config = NoiseConfig.from_hardware(hw, sigma_out=0.1)
    assert (config.input_bits, config.rows, config.cols, config.fan_in) == (6, 16, 8, 27)
    assert config.sigma_out == 0.1 and config.sigma_in == pytest.approx(0.03 / math.sqrt(3))
    with pytest.raises(NoiseConfigError, match=r"^noise\.sigma_typo: unknown option; known: "):
        NoiseConfig.from_hardware(hw, sigma_typo=1.0)
    with pytest.raises(NoiseConfigError, match="lacks wavelengths"):
        NoiseConfig.from_hardware(
            SimpleNamespace(**{k: v for k, v in vars(hw).items() if k != "wavelengths"})
        )


def test_scaled_multiplies_every_sigma_and_nothing_else() -> None:
    base = NoiseConfig(sigma_in_static=0.01)
    high = base.scaled(3.0)
    assert high.sigma_in == pytest.approx(3 * base.sigma_in)
    assert high.sigma_in_static == pytest.approx(0.03)
    assert high.sigma_w == pytest.approx(3 * base.sigma_w)
    assert high.output_sigma == pytest.approx(3 * base.output_sigma)
    assert replace(high, **{f: getattr(base, f) for f in SIGMA_FIELDS}) == base
    assert base.output_sigma == pytest.approx(0.05 / 3 * math.sqrt(72))  # n = 12 x 3 x 2


def test_summed_cores_count_as_accumulation_steps() -> None:
    """DOTA-B's 2 cores per tile sum into one ADC over 3 cycles: a conversion sums 12 x 6."""
    assert NoiseConfig.from_hardware(HardwareConfig()).fan_in == 72 == NoiseConfig().fan_in
    unshared = NoiseConfig.from_hardware(HardwareConfig.preset("sp-dota-b"))
    assert unshared.fan_in == 36
    assert NoiseConfig.from_hardware(HardwareConfig(), temporal_accumulation=1).fan_in == 12


def test_published_sigmas_are_converted_into_the_model_units() -> None:
    """LT's multiplicative 0.03 (inputs) and 0.05 (layer outputs): docs/photonic-model.md §6.4."""
    config = NoiseConfig()
    assert config.sigma_in == pytest.approx(0.01732, abs=1e-5)
    assert config.sigma_out == pytest.approx(0.01667, abs=1e-5)
    assert "additive" in NoiseConfig.spec("sigma_in").spec.unit
    assert "per conversion" in NoiseConfig.spec("sigma_out").spec.unit
