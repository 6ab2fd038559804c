"""The photonic segmentation evaluator: accuracy under noise plus hardware cost, one design."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from evaluators import scoring
from evaluators.accuracy import noisy_miou
from evaluators.design import Design, hardware_of
from evaluators.noise import NoiseConfig
from evaluators.options import OptionError
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from tests.support.photonic_segmentation import DESIGN, SMALL

CONTRACT = (
    "miou",
    "miou_std",
    "miou_clean",
    "throughput_fps",
    "latency_ms",
    "energy_uj",
    "power_w",
    "area_mm2",
    "macs",
    "params",
)


def test_metrics_of_one_design_are_complete_and_repeatable(
    one_thread: None, tmp_path: Path
) -> None:
    first = PhotonicSegmentationEvaluator(**SMALL).evaluate(DESIGN)
    again = PhotonicSegmentationEvaluator(**SMALL).evaluate(DESIGN)
    assert set(CONTRACT) <= set(first)
    assert 0.0 < first["miou"] <= 1.0 and first["miou_std"] >= 0.0
    assert first["digital_energy_uj"] > 0
    for name in CONTRACT:
        assert first[name] == pytest.approx(again[name]), name


def test_hardware_only_trains_nothing_and_follows_the_hardware(one_thread: None) -> None:
    evaluator = PhotonicSegmentationEvaluator(**SMALL, hardware_only=True)
    base = evaluator.evaluate(DESIGN)
    assert "miou" not in base and set(CONTRACT[3:]) <= set(base)
    faster = evaluator.evaluate({**DESIGN, "hw.wavelengths": 16})
    cheaper = evaluator.evaluate({**DESIGN, "hw.bits": 3})
    assert faster["throughput_fps"] > base["throughput_fps"]
    assert cheaper["energy_uj"] < base["energy_uj"]
    assert len(evaluator.data.train_images) == 1  # a worker needs the classes, not the scenes


def test_hardware_only_costs_each_network_as_the_full_path_does(one_thread: None) -> None:
    """Its networks are traced once and kept: the costs must still be the design's own."""
    evaluator = PhotonicSegmentationEvaluator(**SMALL, hardware_only=True)
    wider = {**DESIGN, "arch.width": 16}
    first, other, again = (evaluator.evaluate(p) for p in (DESIGN, wider, DESIGN))
    assert first == again and other["macs"] > first["macs"]
    for params, costs in ((DESIGN, first), (wider, other)):
        design = Design.resolve(params, evaluator.options)
        untrained = design.build(evaluator.data.num_classes, evaluator.options.seed)
        assert costs == scoring.score(untrained, design, evaluator.options).metrics()


def test_low_precision_and_high_noise_cost_accuracy(one_thread: None) -> None:
    evaluator = PhotonicSegmentationEvaluator(**{**SMALL, "num_train": 160, "epochs": 8})
    network = evaluator.fidelity.network(Design.resolve(DESIGN, evaluator.options), evaluator.data)

    def score(bits: int, noise_scale: float) -> float:
        params = {**DESIGN, "hw.bits": bits, "hw.adc_bits": max(4, bits)}
        noise = NoiseConfig.from_hardware(hardware_of(params, evaluator.options)).scaled(
            noise_scale
        )
        return noisy_miou(network, evaluator.data, noise, samples=2, seed=0).miou

    assert score(2, 4.0) < score(8, 1.0) - 0.05


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fidelity": "oracle"}, r"^fidelity='oracle': one of finetune, standalone, supernet$"),
        ({"epochs": 0}, r"^epochs=0 out of range: allowed >= 1 epochs"),
        ({"epochs": "many"}, r"^epochs='many': expected int$"),
        ({"lr": 0}, r"^lr=0 out of range: allowed > 0.0"),
        ({"image_size": [64]}, r"^image_size=\[64\]: expected \[H, W\]"),
        ({"dataset": "imagenet"}, r"^dataset='imagenet': one of .*synthetic"),
        (
            {"noise": {"sigma_out": -1.0}},
            r"^noise\.sigma_out=-1.0 out of range: allowed \[0.0, 10",
        ),
        ({"supernet": {"epochz": 3}}, r"^supernet\.epochz: unknown option; known: batch_size, "),
        ({"reference": {"bits": 0}}, r"^reference\.bits=0 out of range: allowed \[1, 32\] bit$"),
        ({"hardware": {"rows": 16}}, r"^hardware\.rows: write hw\.rows"),
        ({"hardware": {"hw.colums": 8}}, r"^hardware\.hw\.colums: unknown parameter"),
        ({"colour": "red"}, r"^colour: unknown option; known: average_float_supernet, batch"),
    ],
)
def test_bad_options_fail_in_one_line_naming_the_option(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(OptionError, match=message) as error:
        PhotonicSegmentationEvaluator(**options)
    assert "\n" not in str(error.value)


def test_bad_design_param_names_the_key(one_thread: None) -> None:
    evaluator = PhotonicSegmentationEvaluator(**SMALL, hardware_only=True)
    with pytest.raises(ValueError, match=r"input_bits=40 out of range: allowed \[2, 8\]"):
        evaluator.evaluate({**DESIGN, "hw.bits": 40})
    with pytest.raises(ValueError, match=r"arch\.width=1000 out of range: allowed \[4, 64\]"):
        evaluator.evaluate({**DESIGN, "arch.width": 1000})


def test_cli_hardware_only_json(tmp_path: Path) -> None:
    design = {
        "evaluator": {
            "target": "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator",
            "options": {
                "dataset": "synthetic",
                "image_size": [96, 128],
                "num_train": 8,
                "num_val": 8,
            },
        },
        "params": {"arch.width": 16, "hw.bits": 4, "hw.array_size": 12, "hw.wavelengths": 12},
    }
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(design))
    result = subprocess.run(
        [sys.executable, "-m", "dse", "evaluate", str(path), "--hardware-only", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    metrics = json.loads(result.stdout)
    assert set(CONTRACT[3:]) <= set(metrics)
    assert "miou" not in metrics
    assert metrics["macs"] > 1e6 and torch.isfinite(torch.tensor(metrics["energy_uj"]))
