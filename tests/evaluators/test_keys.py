"""evaluators.keys and the fidelities' cache keys: stable across releases, so caches stay valid."""

from __future__ import annotations

from typing import Any

from evaluators.design import Design
from evaluators.fidelities.standalone import Standalone
from evaluators.fidelities.supernet import Inherited
from evaluators.keys import content_key
from evaluators.segmentation_options import SegmentationOptions
from evaluators.supernet import SupernetSpace

OPTIONS: dict[str, Any] = {
    "dataset": "synthetic",
    "image_size": [32, 32],
    "num_train": 16,
    "num_val": 8,
    "epochs": 2,
    "finetune_epochs": 1,
    "noise": {"adc_gain": 4.0},
    "seed": 3,
}
DESIGN = {"arch.width": 8, "arch.stage2.block": "ghost", "hw.bits": 6, "hw.wavelengths": 8}
DOMAINS = {
    "arch.width": {"type": "int", "low": 8, "high": 16, "step": 8, "log": False},
    "hw.bits": {"type": "int", "low": 4, "high": 8, "step": 1, "log": False},
}


def test_content_key_is_a_hash_of_sorted_json() -> None:
    assert content_key({"b": 1, "a": (2, 3)}) == content_key({"a": [2, 3], "b": 1})
    assert content_key({"a": 1}) != content_key({"a": 2})
    assert len(content_key([])) == 24


def test_float_weights_are_filed_without_the_hardware() -> None:
    """FLOAT_FORMAT 2: e4efe8a's key of these options was 3e3b6d1d452bc11344e36ccd, with the
    design's hw.* params in it; now every hardware variant of a network shares its float
    training, and the key is pinned so that caches stay valid."""
    options = SegmentationOptions.create(**{**OPTIONS, "finetune_epochs": 0})
    design = Design.resolve(DESIGN, options)
    other_chip = Design.resolve({**DESIGN, "hw.bits": 4, "hw.adc_bits": 5}, options)
    other_noise = SegmentationOptions.create(**{**OPTIONS, "finetune_epochs": 0, "noise": {}})
    key = Standalone(options).key(design)
    assert key == Standalone(options).key(other_chip) == Standalone(other_noise).key(design)
    assert key != Standalone(options).key(Design.resolve({**DESIGN, "arch.width": 16}, options))
    assert key == "7d5636a4223e856f0a634148"


def test_supernets_of_an_unclipped_noise_phase_are_not_reused() -> None:
    """The key e4efe8a's ``supernet_recipe`` gave was ae82f4ee6a8847023c8adc6b; clipping the
    noise phase (``noise_max_grad_norm``, whose absence let supernets turn NaN) changed it to
    9b38a50c7e2ef0c14fec105d, and the cache's FORMAT 2 (the noise phase drawing from a stream
    of its own, the float phase cached apart) to the key pinned here."""
    with_supernet = SegmentationOptions.create(**OPTIONS, supernet={"epochs": 2})
    fidelity = Inherited(with_supernet)
    recipe = fidelity.recipe(SupernetSpace.from_domains(DOMAINS), with_supernet.load_data())
    assert recipe.key == "76a2990ee79bad2ff15e82dc"


def test_noise_aware_weights_of_an_older_fine_tuning_are_not_reused() -> None:
    """NOISE_AWARE_FORMAT 2 (gradient norm clipped) files noise-aware weights anew: the
    key e4efe8a gave these options was eccdd6f79fc2a16c838cc9e4."""
    options = SegmentationOptions.create(**OPTIONS)
    assert Standalone(options).key(Design.resolve(DESIGN, options)) == "a096a890ae1642be6201f87f"


def test_an_integral_float_option_keeps_its_key() -> None:
    """``lr: 1`` read from YAML stays the int it was (its key is not that of ``lr: 1.0``)."""
    options = SegmentationOptions.create(**OPTIONS, lr=1)
    assert options.lr == 1 and isinstance(options.lr, int)
    as_float = SegmentationOptions.create(**OPTIONS, lr=1.0)
    design = Design.resolve(DESIGN, options)
    assert Standalone(options).key(design) != Standalone(as_float).key(design)
