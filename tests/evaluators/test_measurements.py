"""evaluators.measurements: a set of weights measured once, under a key of all it depends on."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import evaluators.design
import evaluators.keys
from evaluators.design import Design
from evaluators.keys import source_key
from evaluators.measurements import MeasurementCache
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from evaluators.segmentation_options import SegmentationOptions

pytestmark = pytest.mark.usefixtures("one_thread")

DESIGN = {"arch.width": 8, "hw.bits": 6, "hw.wavelengths": 8}
OPTIONS: dict[str, Any] = {
    "image_size": [32, 32],
    "num_train": 8,
    "num_val": 8,
    "noise_samples": 1,
    "fidelity": "standalone",
    "epochs": 1,
}


def test_the_key_covers_weights_noise_chips_and_frames() -> None:
    def key(
        weights: str = "w", params: dict[str, Any] = DESIGN, frames: str = "v", **changes: Any
    ) -> str:
        options = SegmentationOptions.create(**{**OPTIONS, **changes})
        return MeasurementCache.key(weights, Design.resolve(params, options), options, frames)

    base = key()
    assert key() == base
    assert key(epochs=3) == base  # what training reads is the weights key's business
    changed = {
        "weights": key(weights="x"),
        "the design's noise model": key(params={**DESIGN, "hw.bits": 5}),
        "a noise override": key(noise={"adc_gain": 2.0}),
        "chips": key(noise_samples=2),
        "chip seeds": key(seed=1),
        "validation frames": key(frames="u"),
    }
    assert len({base, *changed.values()}) == 1 + len(changed), changed


def test_a_cached_measurement_is_read_unless_the_design_is_retrained(tmp_path: Path) -> None:
    options = {**OPTIONS, "cache_dir": str(tmp_path)}
    measured = PhotonicSegmentationEvaluator(**options).evaluate(DESIGN)
    (entry,) = tmp_path.glob("scores/*.json")
    entry.write_text(json.dumps({"noisy": [0.99], "clean": 0.98}))
    read = PhotonicSegmentationEvaluator(**options).evaluate(DESIGN)
    assert (read["miou"], read["miou_clean"]) == (0.99, 0.98)
    assert read["energy_uj"] == measured["energy_uj"]
    entry.write_text('{"noisy": [0.9')  # a file that does not read is measured again
    assert PhotonicSegmentationEvaluator(**options).evaluate(DESIGN)["miou"] == measured["miou"]
    retrained = PhotonicSegmentationEvaluator(**options, retrain=True).evaluate(DESIGN)
    assert retrained["miou"] == pytest.approx(measured["miou"])
    assert json.loads(entry.read_text())["noisy"] == [retrained["miou"]]  # refreshed


def test_the_source_key_follows_the_code(tmp_path: Path) -> None:
    def package(name: str, body: str) -> ModuleType:
        root = tmp_path / name
        root.mkdir()
        (root / "__init__.py").write_text("")
        (root / "part.py").write_text(body)
        module = ModuleType(name)
        module.__file__ = str(root / "__init__.py")
        return module

    one, same, edited = package("one", "x = 1\n"), package("same", "x = 1\n"), package("e", "x=2\n")
    assert source_key(one) == source_key(same) != source_key(edited)
    assert source_key(evaluators.keys) != source_key(evaluators.design)
