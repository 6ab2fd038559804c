"""evaluators.fidelities.standalone: trained weights are cached for export, and a training
stopped midway resumes from its checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from evaluators import training as loop
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


class Stop(Exception):
    """The worker died midway through a training."""


def test_a_stopped_standalone_training_resumes_from_its_checkpoint(
    one_thread: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {**SMALL, "finetune_epochs": 1}
    uninterrupted = PhotonicSegmentationEvaluator(**options, cache_dir=str(tmp_path / "a"))
    uninterrupted.evaluate(DESIGN)
    monkeypatch.setattr(loop.Checkpoint, "due", lambda self, last_saved: True)
    batch, calls = loop._training_batch, []

    def dying(*args: Any) -> Any:
        calls.append(None)
        if len(calls) == 7:  # step 6: in the second of the float phase's 3 epochs of 4 steps
            raise Stop
        return batch(*args)

    monkeypatch.setattr(loop, "_training_batch", dying)
    stopped = PhotonicSegmentationEvaluator(**options, cache_dir=str(tmp_path / "b"))
    with pytest.raises(Stop):
        stopped.evaluate(DESIGN)
    partial = list((tmp_path / "b" / "weights").glob("*.float.partial.pt"))
    assert len(partial) == 1, "the float phase filed its progress beside the weights"
    resumed_calls: list[None] = []

    def counted(*args: Any) -> Any:
        resumed_calls.append(None)
        return batch(*args)

    monkeypatch.setattr(loop, "_training_batch", counted)
    PhotonicSegmentationEvaluator(**options, cache_dir=str(tmp_path / "b")).evaluate(DESIGN)
    float_steps, noisy_steps = 3 * 4, 8  # 64 frames in batches of 16, then of 8
    assert len(resumed_calls) == float_steps - 6 + noisy_steps, "resumed at step 6"
    design = Design.resolve(DESIGN, uninterrupted.options)
    key = uninterrupted.fidelity.key(design)
    expected, resumed = (torch.load(tmp_path / d / "weights" / f"{key}.pt") for d in "ab")
    assert all(torch.equal(resumed[name], value) for name, value in expected.items())
    assert not list((tmp_path / "b" / "weights").glob("*.partial.pt"))
