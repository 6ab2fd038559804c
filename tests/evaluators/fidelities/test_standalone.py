"""evaluators.fidelities.standalone: trained weights are cached for export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluators.design import Design
from evaluators.fidelities import training
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from evaluators.training import evaluate_miou
from tests.support.photonic_segmentation import DESIGN, SMALL


def test_trained_weights_are_cached_for_export(
    one_thread: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluator = PhotonicSegmentationEvaluator(**SMALL, cache_dir=str(tmp_path))
    metrics = evaluator.evaluate(DESIGN)
    cached = list((tmp_path / "weights").glob("*.pt"))
    assert len(cached) == 1
    design = Design.resolve(DESIGN, evaluator.options)
    assert cached[0].stem == evaluator.fidelity.key(design)
    monkeypatch.setattr(training, "train", _no_training)
    network = evaluator.fidelity.network(design, evaluator.data)  # loads, no training
    data = evaluator.data
    reloaded = evaluate_miou(
        network, data.val_images, data.val_labels, num_classes=data.num_classes
    ).miou
    assert reloaded == pytest.approx(metrics["miou_clean"])


def _no_training(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("trained although the weights are cached")


def test_the_float_phase_is_cached_apart_and_reused_by_another_noise_aware_recipe(
    one_thread: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noise_aware = {**SMALL, "cache_dir": str(tmp_path), "finetune_epochs": 1}
    evaluator = PhotonicSegmentationEvaluator(**noise_aware)
    evaluator.evaluate(DESIGN)
    float_only = PhotonicSegmentationEvaluator(**{**noise_aware, "finetune_epochs": 0})
    design = Design.resolve(DESIGN, evaluator.options)
    keys = {evaluator.fidelity.key(design), float_only.fidelity.key(design)}
    assert {path.stem for path in (tmp_path / "weights").glob("*.pt")} == keys
    monkeypatch.setattr(training, "train", _no_training)  # the float phase may not run again
    float_only.evaluate(DESIGN)
    other = PhotonicSegmentationEvaluator(**{**noise_aware, "finetune_lr": 1e-3})
    other.evaluate(DESIGN)  # its own noise-aware phase, from the cached float weights
    assert len(list((tmp_path / "weights").glob("*.pt"))) == 3
