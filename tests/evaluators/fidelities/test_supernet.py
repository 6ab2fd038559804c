"""evaluators.fidelities.supernet: prepare, cache, scores and export via the evaluator."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn

import evaluators.supernet.cache as cache_module
import evaluators.training as training_loop
from dse.evaluator import prepare_options
from dse.space import load_space
from evaluators import photonic_segmentation
from evaluators.accuracy import CALIBRATION_CHIP_OFFSET, DYNAMIC_OFFSET
from evaluators.design import Design
from evaluators.fidelities.supernet import Inherited
from evaluators.measurements import Measurement, measure
from evaluators.network import build_network
from evaluators.noise import PhotonicLayer, photonic_mode
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from evaluators.scoring import score
from evaluators.supernet import (
    Supernet,
    SupernetError,
    SupernetSpace,
    load_supernet,
    recalibrate_bn,
    recalibration_images,
)
from evaluators.supernet.cache import read_record
from tests.support.supernet import DESIGN, DOMAINS, OPTIONS, QUICK, QUICK_DOMAINS

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A supernet of DOMAINS trained by the evaluator's prepare, and the options workers get."""
    torch.set_num_threads(1)
    cache = tmp_path_factory.mktemp("cache")
    extra = PhotonicSegmentationEvaluator(**OPTIONS).prepare(cache, DOMAINS)
    return {"cache": cache, "options": {**OPTIONS, **extra}}


def test_scores_come_from_the_trained_supernet(trained: dict[str, Any]) -> None:
    """(Without a measurement cache: the test swaps the supernet behind the key's back.)"""
    worker = PhotonicSegmentationEvaluator(**{**trained["options"], "cache_dir": None})
    worker.setup()
    metrics = worker.evaluate(DESIGN)
    assert 0.0 < metrics["miou"] <= 1.0 and metrics["macs"] > 0
    again = worker.evaluate(DESIGN)  # same chips, same statistics
    for name in ("miou", "miou_clean", "energy_uj"):
        assert again[name] == pytest.approx(metrics[name]), name
    fidelity = worker.fidelity
    assert isinstance(fidelity, Inherited)
    design = Design.resolve(DESIGN, worker.options)
    costs = score(fidelity.network(design, worker.data), design, worker.options).metrics()
    assert costs == {name: metrics[name] for name in costs}  # the sliced network's own costs
    fidelity._supernet = Supernet(fidelity.supernet.space, worker.data.num_classes, seed=0)
    assert worker.evaluate(DESIGN)["miou_clean"] < metrics["miou_clean"] - 0.05


def test_scored_network_is_the_standalone_build_with_sliced_weights(
    trained: dict[str, Any],
) -> None:
    worker = PhotonicSegmentationEvaluator(**trained["options"])
    fidelity = worker.fidelity
    assert isinstance(fidelity, Inherited)
    scored = fidelity.network(Design.resolve(DESIGN, worker.options), worker.data)
    standalone = build_network(DESIGN, worker.data.num_classes, seed=7)
    standalone.load_state_dict({k: v.clone() for k, v in fidelity.supernet.weights(DESIGN).items()})
    recalibrate_bn(standalone, recalibration_images(worker.data, OPTIONS["recalibration_images"]))
    images = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(scored(images), standalone(images), rtol=0, atol=0)


def test_noisy_recalibration_measures_the_statistics_on_a_chip(trained: dict[str, Any]) -> None:
    """``recalibration_noise``: the batch-norm statistics are those of the design's noisy
    activations on the calibration chip (the same network, recalibrated in photonic mode), the
    design's key says so, and the float weights are untouched."""
    noisy = PhotonicSegmentationEvaluator(**{**trained["options"], "recalibration_noise": True})
    fidelity, float_fidelity = noisy.fidelity, PhotonicSegmentationEvaluator(**trained["options"])
    assert isinstance(fidelity, Inherited) and isinstance(float_fidelity.fidelity, Inherited)
    design = Design.resolve(DESIGN, noisy.options)
    scored = fidelity.network(design, noisy.data)
    reference = float_fidelity.fidelity.network(design, noisy.data)
    chip = CALIBRATION_CHIP_OFFSET + noisy.options.seed
    folded = replace(design.noise, input_noise="folded")  # as scoring draws it (eval mode)
    with photonic_mode(reference, folded, chip_seed=chip, noise_seed=DYNAMIC_OFFSET + chip):
        recalibrate_bn(reference, recalibration_images(noisy.data, OPTIONS["recalibration_images"]))
    float_stats = float_fidelity.fidelity.network(design, noisy.data).state_dict()
    for name, value in scored.state_dict().items():
        torch.testing.assert_close(value, reference.state_dict()[name], rtol=0, atol=0)
        if name.endswith("running_var"):
            assert not torch.allclose(value, float_stats[name]), name
        elif "running_" not in name and "num_batches" not in name:  # weights, biases
            torch.testing.assert_close(value, float_stats[name], rtol=0, atol=0)
    assert fidelity.key(design) != float_fidelity.fidelity.key(design)
    assert not any(isinstance(m, PhotonicLayer) for m in scored.modules())


def test_export_carries_the_inherited_weights(trained: dict[str, Any], tmp_path: Path) -> None:
    worker = PhotonicSegmentationEvaluator(**trained["options"])
    worker.export(DESIGN, tmp_path)
    model = torch.jit.load(str(tmp_path / "model.pt"))
    images = torch.rand(1, 3, 32, 32)
    design = Design.resolve(DESIGN, worker.options)
    expected = worker.fidelity.network(design, worker.data)(images)
    torch.testing.assert_close(model(images), expected)
    assert not list(Path(trained["options"]["cache_dir"]).glob("weights/*.pt"))  # no training


def test_the_float_supernet_slice_is_averaged_into_the_score(trained: dict[str, Any]) -> None:
    """``average_float_supernet``: the design is also scored on its slice of the float supernet
    the training left before its noise phase (found by prepare, no training), on the same
    chips, and the accuracy is that of both slices."""
    options = {**OPTIONS, "average_float_supernet": True}
    extra = PhotonicSegmentationEvaluator(**options).prepare(trained["cache"], DOMAINS)
    assert extra["supernet_path"] == trained["options"]["supernet_path"]
    paired = PhotonicSegmentationEvaluator(**options, **extra)
    metrics = paired.evaluate(DESIGN)
    design = Design.resolve(DESIGN, paired.options)
    noisy_slice, float_slice = (s.build() for s in paired.fidelity.samples(design, paired.data))
    slices = (noisy_slice, float_slice)
    alone = [score(n, design, paired.options, paired.data).accuracy for n in slices]
    assert all(a is not None for a in alone)
    assert metrics["miou"] == pytest.approx(sum(a.miou for a in alone if a) / 2)
    assert metrics["miou_clean"] == pytest.approx(sum(a.miou_clean for a in alone if a) / 2)
    float_weights = load_supernet(Path(extra["float_supernet_path"])).weights(DESIGN)
    state = float_slice.state_dict()
    learned = [n for n in state if "running_" not in n and "num_batches" not in n]
    for name in learned:  # (the statistics are recalibrated)
        torch.testing.assert_close(state[name], float_weights[name], rtol=0, atol=0)
    noisy_weights = noisy_slice.state_dict()
    changed = [n for n in learned if not torch.equal(float_weights[n], noisy_weights[n])]
    assert changed, "the noise phase changed the weights"
    single = PhotonicSegmentationEvaluator(**trained["options"]).fidelity
    assert paired.fidelity.key(design) != single.key(design)


def test_the_pair_level_measures_only_the_float_slice(
    trained: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A design scored at the first level, then with ``average_float_supernet`` (the levels of
    camvid.yaml), has its noise-trained slice measured once: the second level reads that
    measurement from the cache and scores exactly as without one."""
    measured: list[nn.Module] = []

    def counted(network: nn.Module, *args: Any) -> Measurement:
        measured.append(network)
        return measure(network, *args)

    monkeypatch.setattr(photonic_segmentation, "measure", counted)
    first = {**trained["options"], "cache_dir": str(tmp_path)}
    paired = {**OPTIONS, "average_float_supernet": True}
    paired.update(PhotonicSegmentationEvaluator(**paired).prepare(trained["cache"], DOMAINS))
    PhotonicSegmentationEvaluator(**first).evaluate(DESIGN)
    cached = PhotonicSegmentationEvaluator(**{**paired, "cache_dir": str(tmp_path)})
    metrics = cached.evaluate(DESIGN)
    assert len(measured) == 2
    uncached = PhotonicSegmentationEvaluator(**{**paired, "cache_dir": None}).evaluate(DESIGN)
    assert len(measured) == 4
    for name in ("miou", "miou_std", "miou_clean"):
        assert metrics[name] == uncached[name], name
    assert len(list(tmp_path.glob("scores/*.json"))) == 2


def test_averaging_the_float_supernet_needs_a_noise_phase() -> None:
    with pytest.raises(ValueError, match="average_float_supernet: the supernet has no noise phase"):
        PhotonicSegmentationEvaluator(**{**QUICK, "average_float_supernet": True})


def test_without_prepare_the_supernet_fidelity_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="needs a trained supernet: run prepare"):
        PhotonicSegmentationEvaluator(**QUICK).evaluate(DESIGN)


def test_cache_key_follows_space_data_seed_and_recipe() -> None:
    space = SupernetSpace.from_domains(DOMAINS)
    wider = SupernetSpace.from_domains(
        {**DOMAINS, "arch.width": {"type": "int", "low": 8, "high": 24, "step": 8}}
    )

    def key(space: SupernetSpace, **options: Any) -> str:
        evaluator = PhotonicSegmentationEvaluator(**{**OPTIONS, **options})
        assert isinstance(evaluator.fidelity, Inherited)
        return evaluator.fidelity.recipe(space, evaluator.data).key

    base = key(space)
    assert key(space) == base
    assert key(space, num_val=8, noise_samples=3) == base  # scoring options do not train
    changed = {
        "space": key(wider),
        "data": key(space, num_train=24),
        "data seed": key(space, seed=1),
        "epochs": key(space, supernet={**OPTIONS["supernet"], "epochs": 4}),
        "noise seed": key(space, supernet={**OPTIONS["supernet"], "noise_seed": 1}),
        "noise": key(space, noise={"adc_gain": 2.0}),
    }
    assert len({base, *changed.values()}) == 1 + len(changed), changed


def test_a_second_prepare_reuses_the_cached_supernet(
    trained: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(trained["options"]["supernet_path"])
    stamp = path.stat().st_mtime_ns

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("trained again")

    monkeypatch.setattr(cache_module, "train_paths", no_training)
    monkeypatch.setattr(cache_module, "train_under_noise", no_training)
    again = PhotonicSegmentationEvaluator(**OPTIONS).prepare(trained["cache"], DOMAINS)
    assert again["supernet_path"] == str(path) and path.stat().st_mtime_ns == stamp


def test_a_new_noise_phase_starts_from_the_cached_float_supernet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recipe that changes only the noise phase trains that phase alone, from the float
    supernet the first recipe left, and gets what training it straight through gives."""
    noisy = {**QUICK, "supernet": {**QUICK["supernet"], "noise_epochs": 1, "noise_batch_size": 16}}
    ramped = {**noisy, "supernet": {**noisy["supernet"], "noise_ramp": 0.5}}
    PhotonicSegmentationEvaluator(**noisy).prepare(tmp_path / "a", QUICK_DOMAINS)
    straight = PhotonicSegmentationEvaluator(**ramped).prepare(tmp_path / "b", QUICK_DOMAINS)
    monkeypatch.setattr(cache_module, "train_paths", None)  # the float phase must not run
    reused = PhotonicSegmentationEvaluator(**ramped).prepare(tmp_path / "a", QUICK_DOMAINS)
    assert len(list((tmp_path / "a" / "supernets").glob("*.pt"))) == 3  # float, noisy, ramped
    first, second = (read_record(Path(p["supernet_path"])) for p in (straight, reused))
    assert first["key"] == second["key"] and first["checksum"] == second["checksum"]


def corrupt_tensor(path: Path) -> None:
    record = torch.load(path, weights_only=True)
    record["tensors"]["stem.0.weight"][0, 0, 0, 0] += 1.0
    torch.save(record, path)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


@pytest.mark.parametrize("damage", [corrupt_tensor, truncate])
def test_a_corrupt_cache_file_is_retrained_not_loaded(
    damage: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = Path(
        PhotonicSegmentationEvaluator(**QUICK).prepare(tmp_path, QUICK_DOMAINS)["supernet_path"]
    )
    good = read_record(path)["checksum"]
    damage(path)
    with pytest.raises(SupernetError, match=str(path)):
        load_supernet(path)  # a worker refuses it
    with caplog.at_level(logging.WARNING):
        again = PhotonicSegmentationEvaluator(**QUICK).prepare(tmp_path, QUICK_DOMAINS)
    assert again["supernet_path"] == str(path)
    assert "training the supernet again" in caplog.text
    assert read_record(path)["checksum"] == good  # retrained, deterministically, and replaced
    assert not list(path.parent.glob("*.tmp"))


def test_a_second_search_reuses_the_supernet_of_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What ``dse search`` does on the driver before starting workers, twice: the engine's
    ``prepare_options`` with the space file's evaluator options and domains. (A full search
    adds Ray workers, whose share of two busy cores makes it too slow for this suite.)"""
    space_file = tmp_path / "space.yaml"
    space_file.write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "evaluator": {
                    "target": "evaluators.photonic_segmentation:PhotonicSegmentationEvaluator",
                    "options": {**QUICK, "image_size": [32, 32]},
                },
                "objectives": [{"name": "miou", "direction": "maximize"}],
                "params": {
                    "arch.width": {"type": "int", "low": 8, "high": 16, "step": 8},
                    "hw.bits": {"type": "int", "low": 4, "high": 8},
                },
            }
        )
    )
    space = load_space(space_file)
    cache = tmp_path / "runs" / "cache"

    def search_options() -> dict[str, Any]:
        target, options = space.evaluator.target, space.evaluator.options
        return prepare_options(target, options, cache, space.domains())

    first = search_options()
    assert "training supernet" in capsys.readouterr().err
    path = Path(first["supernet_path"])
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr(cache_module, "train_paths", None)  # any training would fail
    second = search_options()
    assert "training supernet" not in capsys.readouterr().err
    assert second == first and path.stat().st_mtime_ns == stamp
    worker = PhotonicSegmentationEvaluator(**second)
    worker.setup()
    assert 0.0 < worker.evaluate({"arch.width": 16, "hw.bits": 4})["miou"] <= 1.0


class Stop(Exception):
    """The search was killed in the middle of training its supernet."""


def test_a_supernet_training_killed_midway_resumes_to_the_same_supernet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both phases file their progress (the sampler's stream of paths and chips with it), so a
    search killed during either resumes there and trains the supernet it would have."""
    recipe = {**QUICK, "supernet": {"epochs": 2, "batch_size": 8, "noise_epochs": 1}}
    straight = PhotonicSegmentationEvaluator(**recipe).prepare(tmp_path / "a", DOMAINS)
    monkeypatch.setattr(training_loop.Checkpoint, "due", lambda self, last_saved: True)
    batch, calls = training_loop._training_batch, []

    def counted(*args: Any) -> Any:
        calls.append(None)
        if len(calls) in stops:
            raise Stop
        return batch(*args)

    monkeypatch.setattr(training_loop, "_training_batch", counted)
    stops = {6, 12}  # float phase: 2 epochs of 4 steps; noise phase: 1 epoch of 8 (batch 4)
    for _ in sorted(stops):
        with pytest.raises(Stop):
            PhotonicSegmentationEvaluator(**recipe).prepare(tmp_path / "b", DOMAINS)
        assert list((tmp_path / "b" / "supernets").glob("*.partial.pt"))
    resumed = PhotonicSegmentationEvaluator(**recipe).prepare(tmp_path / "b", DOMAINS)
    assert len(calls) == 8 + 8 + len(stops), "every step once, and the two that were killed"
    first, second = (read_record(Path(p["supernet_path"])) for p in (straight, resumed))
    assert first["key"] == second["key"] and first["checksum"] == second["checksum"]
    assert not list((tmp_path / "b" / "supernets").glob("*.partial.pt"))
