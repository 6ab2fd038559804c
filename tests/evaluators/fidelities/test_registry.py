"""Adding a fidelity is one registered class: the evaluator then runs it by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from torch import nn

from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.fidelities import FIDELITIES, Cost, Fidelity, register_fidelity
from evaluators.keys import content_key
from evaluators.photonic_segmentation import PhotonicSegmentationEvaluator

OPTIONS: dict[str, Any] = {
    "dataset": "synthetic",
    "image_size": (32, 32),
    "num_train": 8,
    "num_val": 8,
    "noise_samples": 1,
    "threads": 1,
}
DESIGN = {"arch.width": 8, "hw.bits": 6, "hw.wavelengths": 8}


class Untrained(Fidelity):
    """Fresh weights, no training: the cheapest fidelity there is."""

    built: ClassVar[list[str]] = []

    def network(self, design: Design, data: SegmentationData) -> nn.Module:
        self.built.append(self.key(design))
        return design.build(data.num_classes, self.options.seed).eval()

    def key(self, design: Design) -> str:
        return content_key(["untrained", dict(design.params), self.options.seed])

    def cost(self, train_images: int) -> Cost:
        return Cost()


@pytest.fixture
def untrained() -> Iterator[type[Fidelity]]:
    registered = register_fidelity("untrained-test")(Untrained)
    yield registered
    del FIDELITIES["untrained-test"]


def test_a_registered_class_is_a_fidelity_option_at_once(untrained: type[Fidelity]) -> None:
    evaluator = PhotonicSegmentationEvaluator(**OPTIONS, fidelity="untrained-test")
    assert isinstance(evaluator.fidelity, Untrained)
    metrics = evaluator.evaluate(DESIGN)
    assert {"miou", "miou_clean", "energy_uj", "digital_energy_uj"} <= set(metrics)
    assert Untrained.built[-1] == evaluator.fidelity.key(Design.resolve(DESIGN, evaluator.options))
    assert evaluator.fidelity.cost(8) == Cost()


def test_a_name_registers_once(untrained: type[Fidelity]) -> None:
    with pytest.raises(ValueError, match="fidelity 'untrained-test' registered twice"):
        register_fidelity("untrained-test")(Untrained)
    with pytest.raises(ValueError, match="fidelity 'standalone' registered twice"):
        register_fidelity("standalone")(Untrained)
    assert FIDELITIES["standalone"].__name__ == "Standalone"
