"""The evaluator the search spaces name: a segmentation network on a photonic accelerator.

For one design (``arch.*`` network params and ``hw.*`` hardware params) it returns, together,

- accuracy: ``miou_clean`` (float32), ``miou`` and ``miou_std`` (mean and spread over
  ``noise_samples`` simulated chips, through the noise and quantization model of the design's
  own hardware);
- hardware: ``throughput_fps``, ``latency_ms``, ``energy_uj``, ``power_w``, ``area_mm2``,
  ``macs``, ``params`` and the energy breakdown, from the analytic model of
  :mod:`evaluators.hardware` applied to the very network that was scored; plus the same network
  on the digital reference (``digital_*``), for comparison.

It is a composition: :class:`~evaluators.segmentation_options.SegmentationOptions` declares
the options, :class:`~evaluators.design.Design` resolves a design's configs, the registered
fidelity (option ``fidelity``, :mod:`evaluators.fidelities`) gives the design its weights,
:func:`~evaluators.scoring.score` measures it and :mod:`evaluators.export` writes it out.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from evaluators.allocation import keep_large_buffers
from evaluators.data import SegmentationData
from evaluators.design import Design, build_config, hardware_of
from evaluators.export import export_design
from evaluators.fidelities import FIDELITIES, Fidelity, WeightSample
from evaluators.measurements import Measurement, MeasurementCache, measure
from evaluators.network import NetworkConfig
from evaluators.scoring import Accuracy, NetworkCost, score
from evaluators.segmentation_options import EvaluatorOptionsError, SegmentationOptions
from evaluators.training import resolve_device

__all__ = ["EvaluatorOptionsError", "PhotonicSegmentationEvaluator", "SegmentationOptions"]

NETWORK_COSTS = 256
"""Networks whose traced layers an evaluator keeps (a few hundred KB): costs depend on the
network's shape, not its weights, so every hardware variant of a network reuses one tracing."""


class PhotonicSegmentationEvaluator:
    """Accuracy under photonic noise plus the accelerator's cost, for one design at a time."""

    def __init__(self, **options: Any) -> None:
        self.options = SegmentationOptions.create(**options)
        self.fidelity = self._fidelity(self.options.fidelity)
        self._data: SegmentationData | None = None
        self._network_costs: dict[NetworkConfig, NetworkCost] = {}
        self._measurements = MeasurementCache(self.options.cache_dir)

    # -- the evaluator protocol (dse/evaluator.py) -----------------------------------------

    def prepare(self, cache_dir: Path, domains: Mapping[str, Any]) -> dict[str, Any]:
        """Give workers the cache directory (trained weights are kept there for export) and
        whatever the fidelity's shared work left for them (a trained supernet)."""
        extra = {"cache_dir": str(cache_dir)}
        if self.options.hardware_only:
            return extra
        return {**extra, **self.fidelity.prepare(Path(cache_dir), domains)}

    def setup(self) -> None:
        """Load the data set and the fidelity's shared work once per worker, keep torch to the
        ``threads`` option when it is set, and let the worker reuse its large buffers
        (:mod:`evaluators.allocation`)."""
        if self.options.threads is not None:
            torch.set_num_threads(self.options.threads)
        self._data = self.options.load_data(classes_only=self.options.hardware_only)
        if not self.options.hardware_only:  # (a hardware-only search makes no large tensors)
            keep_large_buffers()
            self.fidelity.setup()

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        if self.options.hardware_only:  # no noise model to resolve, no network to train
            network = self._network_cost(NetworkConfig.from_params(params))
            return network.on(hardware_of(params, self.options)).metrics()
        design = Design.resolve(params, self.options)
        start = time.perf_counter()
        samples = self.fidelity.samples(design, self.data)
        accuracy = Accuracy.of([self._measured(sample, design) for sample in samples])
        costs = self._network_cost(design.network).on(design.hardware)
        metrics = replace(costs, accuracy=accuracy).metrics()
        return {**metrics, "train_s": time.perf_counter() - start}

    def export(self, params: dict[str, Any], out_dir: Path) -> None:
        """Write the runnable model and the hardware report of a design (evaluators.export);
        with option ``retrain`` the design is trained standalone, whatever the fidelity."""
        design = Design.resolve(params, self.options)
        fidelity = self._fidelity("standalone") if self.options.retrain else self.fidelity
        data = self.options.load_data() if self.options.hardware_only else self.data
        network = fidelity.network(design, data)
        result = score(network, design, self.options, data)
        cost = fidelity.cost(int(data.train_images.shape[0]))
        described = {**self.describe(), "training_cost_images": asdict(cost)}
        export_design(out_dir, network, design, result, self.options.input_shape, described)

    # -- pieces ---------------------------------------------------------------------------

    @property
    def data(self) -> SegmentationData:
        if self._data is None:
            self.setup()
        assert self._data is not None
        return self._data

    def describe(self) -> dict[str, Any]:
        """The options as plain data, with the device they resolve to."""
        described = asdict(self.options)
        described["device"] = str(resolve_device(self.options.device))
        return described

    def _measured(self, sample: WeightSample, design: Design) -> Measurement:
        """``sample`` measured on the design's chips, or its cached measurement (with option
        ``retrain``, whose weights are new, the cache is written but not read)."""
        key = self._measurements.key(sample.key, design, self.options, self._validation)
        cached = None if self.options.retrain else self._measurements.load(key)
        if cached is not None:
            return cached
        measurement = measure(sample.build(), design, self.options, self.data)
        self._measurements.save(key, measurement)
        return measurement

    @functools.cached_property
    def _validation(self) -> str:
        return self.data.fingerprint("val")

    def _network_cost(self, network: NetworkConfig) -> NetworkCost:
        """``network`` traced and costed digitally once, for every hardware it meets (the most
        recent ``NETWORK_COSTS`` networks are kept)."""
        cost = self._network_costs.pop(network, None)
        if cost is None:
            untrained = build_config(network, self.data.num_classes, self.options.seed)
            cost = NetworkCost.of(untrained, self.options)
        if len(self._network_costs) >= NETWORK_COSTS:
            del self._network_costs[next(iter(self._network_costs))]
        self._network_costs[network] = cost  # now the most recent
        return cost

    def _fidelity(self, name: str) -> Fidelity:
        return FIDELITIES.lookup(name, EvaluatorOptionsError, "fidelity")(self.options)
