"""evaluators.fidelities.finetune: a design's supernet slice trained alone, cached by its key."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from evaluators.design import Design
from evaluators.fidelities import training
from evaluators.fidelities.finetune import FineTuned
from evaluators.fidelities.supernet import Inherited
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from evaluators.segmentation_options import SegmentationOptions
from tests.support.cli import read_ledger, run_dse, search_args
from tests.support.supernet import QUICK, QUICK_DOMAINS

pytestmark = pytest.mark.usefixtures("one_thread")
TUNE: dict[str, Any] = {"tune_epochs": 1, "tune_images": 16, "finetune_epochs": 1}
NARROW = {"arch.width": 8, "hw.bits": 6, "hw.wavelengths": 8}  # within QUICK_DOMAINS


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The options a worker of the finetune fidelity gets (its supernet trained by prepare)."""
    torch.set_num_threads(1)
    cache = tmp_path_factory.mktemp("cache")
    options = {**QUICK, **TUNE, "fidelity": "finetune"}
    extra = PhotonicSegmentationEvaluator(**options).prepare(cache, QUICK_DOMAINS)
    return {**options, **extra}


def fidelity(options: dict[str, Any]) -> FineTuned:
    created = PhotonicSegmentationEvaluator(**options).fidelity
    assert isinstance(created, FineTuned)
    return created


def test_without_training_it_is_the_inherited_network(prepared: dict[str, Any]) -> None:
    """A promoted design starts from its own supernet slice: with no epochs, exactly it."""
    untrained = {**prepared, "tune_epochs": 0, "finetune_epochs": 0}
    tuned, inherited = fidelity(untrained), Inherited(SegmentationOptions.create(**untrained))
    evaluator = PhotonicSegmentationEvaluator(**untrained)
    design = Design.resolve(NARROW, evaluator.options)
    images = torch.rand(2, 3, 32, 32)
    expected = inherited.network(design, evaluator.data)(images)
    torch.testing.assert_close(tuned.network(design, evaluator.data)(images), expected)


def test_training_moves_the_weights_and_the_result_is_cached(
    prepared: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluator = PhotonicSegmentationEvaluator(**prepared)
    design = Design.resolve(NARROW, evaluator.options)
    tuned = evaluator.fidelity.network(design, evaluator.data)
    inherited = Inherited(evaluator.options).network(design, evaluator.data)
    images = torch.rand(2, 3, 32, 32)
    assert not torch.allclose(tuned(images), inherited(images))
    cache = Path(prepared["cache_dir"]) / "weights" / f"{evaluator.fidelity.key(design)}.pt"
    assert cache.exists()

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("trained again although the weights are cached")

    monkeypatch.setattr(training, "train", no_training)
    again = PhotonicSegmentationEvaluator(**prepared).fidelity.network(design, evaluator.data)
    torch.testing.assert_close(again(images), tuned(images))
    assert not again.training


def test_the_key_follows_the_design_the_supernet_and_the_recipe(prepared: dict[str, Any]) -> None:
    base = fidelity(prepared)
    options = base.options

    def key(params: dict[str, Any], **changes: Any) -> str:
        changed = fidelity({**prepared, **changes})
        return changed.key(Design.resolve(params, changed.options))

    reference = base.key(Design.resolve(NARROW, options))
    assert key(NARROW) == reference
    assert key(NARROW, noise_samples=3, num_val=8) == reference  # scoring does not train
    other_supernet = str(Path(prepared["supernet_path"]).with_name("0" * 24 + ".pt"))
    changed = {
        "design": key({**NARROW, "hw.bits": 5}),
        "supernet": key(NARROW, supernet_path=other_supernet),
        "epochs": key(NARROW, tune_epochs=2),
        "lr": key(NARROW, tune_lr=1e-3),
        "images": key(NARROW, tune_images=8),
        "noise-aware epochs": key(NARROW, finetune_epochs=2),
        "seed": key(NARROW, seed=1),
        "recalibration": key(NARROW, recalibration_images=8),
    }
    assert len({reference, *changed.values()}) == 1 + len(changed), changed


def test_cost_adds_the_short_training_to_the_inherited_one(prepared: dict[str, Any]) -> None:
    cost = fidelity(prepared).cost(train_images=32)
    inherited = Inherited(SegmentationOptions.create(**prepared)).cost(32)
    assert (cost.float_once, cost.noisy_once) == (inherited.float_once, inherited.noisy_once)
    assert cost.float_per_design == inherited.float_per_design + 1 * 16
    assert cost.noisy_per_design == 1 * 16


def test_a_search_with_both_fidelities_exports_the_finetuned_weights(tmp_path: Path) -> None:
    """Supernet for every design, finetune for the promoted half, through the CLI; the export
    of the front's best design carries the finetuned weights and says so."""
    space = {
        "name": "two-levels",
        "evaluator": {
            "target": "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator",
            "options": {**QUICK, "image_size": [32, 32], **TUNE, "noise_samples": 1},
        },
        "fidelities": [
            {"name": "supernet", "options": {"fidelity": "supernet"}},
            {"name": "finetune", "options": {"fidelity": "finetune"}, "promote": 0.5},
        ],
        "objectives": [
            {"name": "miou", "direction": "maximize", "bounds": [0, 1]},
            {"name": "energy_uj", "direction": "minimize", "bounds": [0.01, 100], "scale": "log"},
        ],
        "params": {
            "arch.width": {"type": "int", "low": 8, "high": 8},
            "hw.bits": {"type": "int", "low": 3, "high": 8},
            "hw.wavelengths": {"type": "int", "low": 4, "high": 16},
        },
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    run_dse(tmp_path, *search_args(path, "two", 8, 4))
    levels = Counter(t["fidelity"] for t in read_ledger(tmp_path, "two"))
    assert levels == {"supernet": 8, "finetune": 4}
    front = json.loads(run_dse(tmp_path, "front", "--name", "two", "--format", "json").stdout)
    assert front and {row["fidelity"] for row in front} == {"finetune"}
    run_dse(tmp_path, "export", "--name", "two", "--pick", "max-miou", "--out", "best")
    exported = yaml.safe_load((tmp_path / "best" / "design.yaml").read_text())
    assert exported["evaluator"]["options"]["fidelity"] == "finetune"
    assert exported["provenance"]["fidelity"] == "finetune"
    report = (tmp_path / "best" / "report.md").read_text()
    assert "then trained alone" in report and "(fidelity `finetune`)" in report
    best = max(front, key=lambda row: row["miou"])
    assert f"{best['miou_clean']:.4f}" in report  # the export scores what the search scored
