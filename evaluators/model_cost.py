"""The cost of any torch model on the photonic accelerator: ``dse evaluate`` on ``module:factory``.

A design file names this evaluator and the model; its params are the hardware::

    evaluator:
      target: evaluators.model_cost:ModelCostEvaluator
      options: {model: "mypackage.models:build", kwargs: {width: 64}, input_shape: [1, 3, 224, 224]}
    params: {hw.preset: lt-dota-b, hw.bits: 6}

``dse evaluate design.yaml --allow-target mypackage.models:build`` then prints the hardware
metrics (docs/architecture.md names) of ``build(width=64)`` traced at the input shape
(:func:`evaluators.hardware.evaluate_hardware`); ``dse export`` writes its ``hardware.csv``. The
factory is code a file names, so it is imported under the engine's rule for evaluator targets
(``dse.evaluator.load_target``): only what the user allows (``--allow-target``,
``DSE_ALLOWED_TARGETS``) or an installed package registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from dse.evaluator import load_target
from evaluators.hardware import (
    DigitalReference,
    HardwareConfig,
    LayerTable,
    cost_digital,
    cost_network,
    extract_layers,
)
from evaluators.options import OptionError, Options, knob
from evaluators.scoring import DIGITAL_METRICS


class ModelCostError(OptionError):
    """A bad option of the model-cost evaluator: one line naming it."""


@dataclass(frozen=True)
class ModelCostOptions(Options):
    """Options of :class:`ModelCostEvaluator`."""

    error: ClassVar[type[ModelCostError]] = ModelCostError

    model: str = knob("", source="module:factory returning an nn.Module")
    kwargs: dict[str, Any] = knob({}, source="keyword arguments of the factory")
    input_shape: tuple[int, ...] = knob((1, 3, 224, 224), unit="shape of the example input")
    reference: dict[str, Any] = knob({}, source="evaluators.hardware.DigitalReference fields")
    hardware_only: bool = knob(True, source="this evaluator only costs (dse evaluate's flag)")

    def validate(self) -> None:
        module, sep, attribute = self.model.partition(":")
        if not (module and sep and attribute):
            raise ModelCostError(f"model={self.model!r}: expected module:factory")
        if not self.input_shape or any(
            not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in self.input_shape
        ):
            raise ModelCostError(f"input_shape={self.input_shape!r}: expected positive ints")
        DigitalReference.create(**self.reference)


class ModelCostEvaluator:
    """Hardware metrics of one model on each design's hardware (``hw.*`` params)."""

    def __init__(self, **options: Any) -> None:
        self.options = ModelCostOptions.create(**options)
        self.reference = DigitalReference.create(**self.options.reference)
        self._layers: LayerTable | None = None

    def setup(self) -> None:
        """Build and trace the model once; every design is then costed on the same layers."""
        model = load_target(self.options.model)(**self.options.kwargs)
        if not isinstance(model, nn.Module):
            raise ModelCostError(f"model={self.options.model!r} returned {type(model).__name__}")
        self._layers = LayerTable(extract_layers(model, self.options.input_shape))

    @property
    def layers(self) -> LayerTable:
        if self._layers is None:
            self.setup()
        assert self._layers is not None
        return self._layers

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        report = cost_network(self.layers, HardwareConfig.from_params(params))
        digital = cost_digital(self.layers, self.reference)
        return {
            **report.metrics(),
            **{f"digital_{name}": digital[name] for name in DIGITAL_METRICS},
        }

    def export(self, params: dict[str, Any], out_dir: Path) -> None:
        """Write the design's per-layer ``hardware.csv``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        cost_network(self.layers, HardwareConfig.from_params(params)).to_csv(
            out_dir / "hardware.csv"
        )
