"""Scoring one trained design: accuracy under its own noise, and its cost, photonic and digital.

:class:`Score` is what a design's metrics are, always made of the same two parts: its costs
(:class:`NetworkCost` on its hardware) and its :class:`Accuracy` over the measurements of its
weight samples (:func:`evaluators.measurements.measure`). The evaluator's ``evaluate`` reports
its :meth:`Score.metrics`, ``export`` writes the :func:`score` of the exported network into its
report and files, and ``dse verify`` re-runs ``evaluate`` with other options, so a verified, an
exported and a searched design are measured alike."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from torch import nn

from evaluators.accuracy import NoisyScore
from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.hardware import (
    HardwareConfig,
    HardwareReport,
    LayerTable,
    cost_digital,
    cost_network,
    extract_layers,
)
from evaluators.measurements import Measurement, measure
from evaluators.segmentation_options import SegmentationOptions

DIGITAL_METRICS = ("throughput_fps", "latency_ms", "energy_uj", "power_w")  # as digital_*


@dataclass(frozen=True)
class Accuracy:
    """Validation mIoU: under noise (mean and spread over simulated chips) and in float32."""

    miou: float
    miou_std: float
    miou_clean: float

    @classmethod
    def of(cls, measurements: Sequence[Measurement]) -> Accuracy:
        """Over several weight samples of one design (:meth:`Fidelity.samples`), measured on
        the same chips: mIoU and its spread over every (weights, chip) pair, the clean mIoU
        their mean."""
        noisy = NoisyScore(tuple(value for m in measurements for value in m.noisy))
        clean = statistics.fmean(m.clean for m in measurements)
        return cls(noisy.miou, noisy.miou_std, clean)


@dataclass(frozen=True)
class Score:
    """A design's costs on its photonic hardware and on the digital reference, and its accuracy
    (None when only the hardware was evaluated)."""

    photonic: HardwareReport
    digital: Mapping[str, float]
    accuracy: Accuracy | None = None

    def metrics(self) -> dict[str, float]:
        """The evaluator's metrics (docs/architecture.md): hardware, ``digital_*``, accuracy."""
        metrics = self.photonic.metrics()
        metrics.update({f"digital_{name}": self.digital[name] for name in DIGITAL_METRICS})
        if self.accuracy is not None:
            accuracy = self.accuracy
            metrics.update(
                miou=accuracy.miou, miou_std=accuracy.miou_std, miou_clean=accuracy.miou_clean
            )
        return metrics


@dataclass(frozen=True)
class NetworkCost:
    """What costing takes from a network, whatever its hardware: its layers, traced once, and its
    cost on the digital reference. The evaluator keeps one per network, since tracing costs ~100x
    the analytic model (``benchmarks/RESULTS.md``, hardware-only path)."""

    layers: LayerTable
    digital: Mapping[str, float]

    @classmethod
    def of(cls, network: nn.Module, options: SegmentationOptions) -> NetworkCost:
        layers = LayerTable(extract_layers(network, options.input_shape))
        return cls(layers, cost_digital(layers, options.digital_reference))

    def on(self, hardware: HardwareConfig) -> Score:
        """The network's costs on ``hardware`` (no accuracy)."""
        return Score(cost_network(self.layers, hardware), self.digital)


def score(
    network: nn.Module,
    design: Design,
    options: SegmentationOptions,
    data: SegmentationData | None = None,
) -> Score:
    """Cost ``network`` on the design's hardware and the digital reference; with ``data``, also
    measure its accuracy on ``options.noise_samples`` chips of the design's noise model."""
    costs = NetworkCost.of(network, options).on(design.hardware)
    if data is None:
        return costs
    return replace(costs, accuracy=Accuracy.of([measure(network, design, options, data)]))
