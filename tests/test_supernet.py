"""The weight-sharing supernet: slicing, training, caching, and the evaluator's supernet path.

Real supernets are trained here (tiny ones, on the synthetic scenes at 32x32); the expensive one
is trained once per module and shared by the tests that only read it.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import evaluators.supernet.cache as cache_module
from dse.evaluator import prepare_options
from dse.space import load_space
from evaluators.data import load_dataset, to_model_input
from evaluators.design import Design
from evaluators.fidelities.supernet import Inherited
from evaluators.network import build_network
from evaluators.noise import NoiseConfig
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator
from evaluators.supernet import (
    Supernet,
    SupernetError,
    SupernetSpace,
    load_supernet,
    recalibrate_bn,
    recalibration_images,
)
from evaluators.supernet.cache import read_record

pytestmark = pytest.mark.usefixtures("one_thread")

BLOCKS = ["standard", "depthwise", "ghost"]
DOMAINS: dict[str, dict[str, Any]] = {
    "arch.width": {"type": "int", "low": 8, "high": 16, "step": 8, "log": False},
    "arch.expansion": {"type": "int", "low": 1, "high": 3, "step": 1, "log": False},
    "arch.kernel_size": {"type": "categorical", "choices": [3, 5]},
    "arch.stage2.block": {"type": "categorical", "choices": BLOCKS},
    "arch.stage3.block": {"type": "categorical", "choices": BLOCKS},
    "arch.stage3.iterations": {"type": "int", "low": 1, "high": 2, "step": 1, "log": False},
    "hw.bits": {"type": "int", "low": 4, "high": 8, "step": 1, "log": False},
    "hw.wavelengths": {"type": "int", "low": 4, "high": 16, "step": 1, "log": True},
}
OPTIONS: dict[str, Any] = {
    "dataset": "synthetic",
    "image_size": (32, 32),
    "num_train": 32,
    "num_val": 16,
    "noise_samples": 1,
    "threads": 1,
    "recalibration_images": 16,
    "noise": {"adc_gain": 4.0},
    "supernet": {"epochs": 3, "batch_size": 8, "noise_epochs": 1, "noise_batch_size": 16},
}
# A one-epoch recipe on a narrower space, for tests that train more than once.
QUICK = {**OPTIONS, "supernet": {"epochs": 1, "batch_size": 8, "noise_epochs": 0}}
QUICK_DOMAINS = {"arch.width": {"type": "int", "low": 8, "high": 8, "step": 8, "log": False}}
DESIGN = {
    "arch.width": 8,
    "arch.expansion": 1,
    "arch.kernel_size": 3,
    "arch.stage2.block": "depthwise",
    "arch.stage3.block": "ghost",
    "arch.stage3.iterations": 2,
    "hw.bits": 6,
    "hw.wavelengths": 8,
}


def designs(count: int, seed: int = 0) -> list[dict[str, Any]]:
    space = SupernetSpace.from_domains(DOMAINS)
    rng = random.Random(seed)
    return [space.sample(rng) for _ in range(count)]


def random_statistics(supernet: Supernet) -> None:
    """Give every BN running statistic a distinct value, so copying the wrong slice shows."""
    generator = torch.Generator().manual_seed(0)
    for name, tensor in supernet.store.named_buffers():
        if name.endswith("running_mean") or name.endswith("running_var"):
            tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A supernet of DOMAINS trained by the evaluator's prepare, and the options workers get."""
    torch.set_num_threads(1)
    cache = tmp_path_factory.mktemp("cache")
    extra = PhotonicSegmentationEvaluator(**OPTIONS).prepare(cache, DOMAINS)
    return {"cache": cache, "options": {**OPTIONS, **extra}}


# -- slicing: a design from the supernet is the design built standalone with those weights ----


def test_inherited_design_equals_standalone_build_with_sliced_weights() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0)
    random_statistics(supernet)
    supernet.eval()
    images = torch.rand(2, 3, 32, 32)
    for params in [DESIGN, *designs(5)]:
        standalone = build_network(params, 5, seed=123)
        sliced = {k: v.detach().clone() for k, v in supernet.weights(params).items()}
        standalone.load_state_dict(sliced)
        expected = standalone.eval()(images)
        torch.testing.assert_close(supernet.network(params)(images), expected, rtol=0, atol=0)
        supernet.select(params)  # the training path: views through functional_call
        torch.testing.assert_close(supernet(images), expected)


def test_designs_selected_together_share_the_batch() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0).eval()
    first, second = designs(2, seed=3)
    images = torch.rand(4, 3, 32, 32)
    supernet.select(first, second)
    expected = [supernet.network(first)(images[:2]), supernet.network(second)(images[2:])]
    torch.testing.assert_close(supernet(images), torch.cat(expected))


def test_slices_are_leading_channels_kernel_centres_and_decoder_parts() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0)
    weights = supernet.weights(DESIGN)  # width 8 of 16, 3x3 of 5x5
    stem = supernet.store.get("stem.0.weight")
    assert torch.equal(weights["stem.0.weight"], stem[:8])
    conv = supernet.store.get("stages.1.depthwise.0.body.1.0.weight")  # expansion 1: no expand
    assert torch.equal(weights["stages.1.0.body.0.0.weight"], conv[:8, :, 1:4, 1:4])
    fuse = supernet.store.get("decoder.0.fuse.0.weight")  # input: 64 upsampled + 32 skip
    expected = torch.cat([fuse[:16, :32], fuse[:16, 64:80]], dim=1)
    assert torch.equal(weights["decoder.0.fuse.0.weight"], expected)


def test_a_training_step_updates_only_the_design_slice() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0)
    supernet.train().select(DESIGN)
    supernet(torch.rand(2, 3, 32, 32)).square().mean().backward()
    grad = supernet.store.get("stem.0.weight").grad
    assert grad is not None and grad[:8].abs().sum() > 0
    assert grad[8:].abs().sum() == 0
    untouched = supernet.store.get("stages.2.standard.1.block.body.0.0.weight")
    assert untouched.grad is None  # stage 3 is a ghost stage in DESIGN


def test_noise_is_attached_for_a_step_and_removed_after() -> None:
    supernet = Supernet(SupernetSpace.from_domains(DOMAINS), num_classes=5, seed=0).eval()
    images = torch.rand(2, 3, 32, 32)
    supernet.select(DESIGN)
    clean = supernet(images)
    noise = NoiseConfig(input_bits=2, weight_bits=2)
    supernet.select(DESIGN, noise=noise, chip_seed=1, noise_seed=1)
    assert not torch.allclose(supernet(images), clean, atol=1e-3)
    supernet.select()
    supernet.select(DESIGN)
    torch.testing.assert_close(supernet(images), clean)


def test_recalibration_replaces_statistics_with_those_of_the_images() -> None:
    data = load_dataset("synthetic", image_size=(32, 32), num_train=32, num_val=8)
    network = build_network(DESIGN, data.num_classes, seed=0)
    images = recalibration_images(data, 16)
    assert images.shape[0] == 16
    recalibrate_bn(network, images)
    stem_bn = network.stem[1]
    assert not network.training and stem_bn.momentum == 0.1
    features = network.stem[0]((to_model_input(images) - network.mean) / network.std)
    torch.testing.assert_close(stem_bn.running_mean, features.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)


# -- the space and bad input ------------------------------------------------------------------


def test_space_resolves_capacity_and_stage_choices() -> None:
    space = SupernetSpace.from_domains(
        {**DOMAINS, "arch.block": {"type": "categorical", "choices": ["ghost"]}}
    )
    assert (space.capacity.width, space.capacity.expansion, space.capacity.kernel_size) == (
        16,
        3,
        5,
    )
    assert space.stage_blocks == (("ghost",), tuple(sorted(BLOCKS)), tuple(sorted(BLOCKS)))


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ({"arch.width": {"type": "float", "low": 8, "high": 16}}, "arch.width: a network"),
        (
            {"arch.width": {"type": "int", "low": 8, "high": 640}},
            r"arch\.width=65 out of range: allowed \[4, 64\]",
        ),
        ({"hw.bits": {"type": "interval"}}, "hw.bits: domain"),
        (
            {"arch.block": {"type": "categorical", "choices": ["dense"]}},
            "arch.block='dense': one of standard",
        ),
        ({"hw.bits": {"type": "int", "low": 8, "high": 2}}, "hw.bits: needs numbers low <= high"),
    ],
)
def test_bad_domains_fail_in_one_line_naming_the_key(domains: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        SupernetSpace.from_domains(domains)
    assert "\n" not in str(error.value)


def test_a_design_outside_the_supernet_is_named() -> None:
    supernet = Supernet(SupernetSpace.from_domains(QUICK_DOMAINS), num_classes=5)
    with pytest.raises(SupernetError, match=r"arch\.width = 16 is outside the supernet"):
        supernet.network({"arch.width": 16})
    with pytest.raises(SupernetError, match=r"arch\.stage2\.block = ghost is outside"):
        supernet.network({"arch.width": 8, "arch.stage2.block": "ghost"})


# -- the evaluator's supernet fidelity ---------------------------------------------------------


def test_scores_come_from_the_trained_supernet(trained: dict[str, Any]) -> None:
    worker = PhotonicSegmentationEvaluator(**trained["options"])
    worker.setup()
    metrics = worker.evaluate(DESIGN)
    assert 0.0 < metrics["miou"] <= 1.0 and metrics["macs"] > 0
    again = worker.evaluate(DESIGN)  # same chips, same statistics
    for name in ("miou", "miou_clean", "energy_uj"):
        assert again[name] == pytest.approx(metrics[name]), name
    fidelity = worker.fidelity
    assert isinstance(fidelity, Inherited)
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


def test_export_carries_the_inherited_weights(trained: dict[str, Any], tmp_path: Path) -> None:
    worker = PhotonicSegmentationEvaluator(**trained["options"])
    worker.export(DESIGN, tmp_path)
    model = torch.jit.load(str(tmp_path / "model.pt"))
    images = torch.rand(1, 3, 32, 32)
    design = Design.resolve(DESIGN, worker.options)
    expected = worker.fidelity.network(design, worker.data)(images)
    torch.testing.assert_close(model(images), expected)
    assert not list(Path(trained["options"]["cache_dir"]).glob("weights/*.pt"))  # no training


def test_without_prepare_the_supernet_fidelity_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="needs a trained supernet: run prepare"):
        PhotonicSegmentationEvaluator(**QUICK).evaluate(DESIGN)


# -- the cache -------------------------------------------------------------------------------


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

    monkeypatch.setattr(cache_module, "train_supernet", no_training)
    again = PhotonicSegmentationEvaluator(**OPTIONS).prepare(trained["cache"], DOMAINS)
    assert again["supernet_path"] == str(path) and path.stat().st_mtime_ns == stamp


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


# -- two searches of one space ---------------------------------------------------------------


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
    monkeypatch.setattr(cache_module, "train_supernet", None)  # any training would fail
    second = search_options()
    assert "training supernet" not in capsys.readouterr().err
    assert second == first and path.stat().st_mtime_ns == stamp
    worker = PhotonicSegmentationEvaluator(**second)
    worker.setup()
    assert 0.0 < worker.evaluate({"arch.width": 16, "hw.bits": 4})["miou"] <= 1.0
