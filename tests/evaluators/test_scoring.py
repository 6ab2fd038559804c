"""evaluators.scoring: the one score of a design, its metrics and its parts."""

from __future__ import annotations

import pytest

from evaluators.design import Design
from evaluators.scoring import DIGITAL_METRICS, score
from evaluators.segmentation_options import SegmentationOptions

pytestmark = pytest.mark.usefixtures("one_thread")


def test_costs_alone_and_with_accuracy() -> None:
    options = SegmentationOptions.create(
        image_size=[32, 32], num_train=8, num_val=8, noise_samples=2, device="cpu"
    )
    design = Design.resolve({"arch.width": 8, "hw.bits": 6}, options)
    network = design.build(num_classes=7, seed=0).eval()
    costs = score(network, design, options)
    assert costs.accuracy is None and "miou" not in costs.metrics()
    assert {f"digital_{name}" for name in DIGITAL_METRICS} <= set(costs.metrics())
    assert costs.metrics()["energy_uj"] == costs.photonic.metrics()["energy_uj"] > 0
    full = score(network, design, options, options.load_data())
    assert full.accuracy is not None
    metrics = full.metrics()
    assert metrics["miou"] == full.accuracy.miou and 0.0 <= metrics["miou_clean"] <= 1.0
    assert metrics["miou_std"] >= 0.0 and metrics["energy_uj"] == costs.metrics()["energy_uj"]
