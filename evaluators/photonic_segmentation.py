"""The evaluator the search spaces name: a segmentation network on a photonic accelerator.

For one design (``arch.*`` network params and ``hw.*`` hardware params) it returns, together,

- accuracy: ``miou_clean`` (float32), ``miou`` and ``miou_std`` (mean and spread over
  ``noise_samples`` simulated chips, through the noise and quantization model of the design's
  own hardware), after optional noise-aware fine-tuning;
- hardware: ``throughput_fps``, ``latency_ms``, ``energy_uj``, ``power_w``, ``area_mm2``,
  ``macs``, ``params`` and the energy breakdown, from the analytic model of
  :mod:`evaluators.hardware` applied to the very network that was trained; plus the same
  network on the digital reference (``digital_*``), for comparison.

Where a design's weights come from is its ``fidelity`` (the ``FIDELITIES`` registry):

- ``supernet`` (the default): ``prepare`` trains one weight-sharing supernet over the search
  space's domains (options ``supernet: {epochs, sampling, ...}``, see
  :class:`evaluators.supernet.SupernetSettings`), once per content key, cached under the cache
  directory; every design then inherits its slice of the weights, gets batch-norm statistics of
  its own from ``recalibration_images`` training images, and is scored under its own noise model.
  Seconds per design instead of minutes; ``benchmarks/ranking_fidelity.py`` measures how well
  its ranking agrees with standalone training.
- ``standalone`` trains each design from scratch for ``epochs``. Trained weights are cached
  under the search's cache directory, keyed by the design and the training options, so
  ``dse export`` finds them instead of training again. With ``retrain``, ``export`` trains the
  design this way whatever the fidelity.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from evaluators.accuracy import clean_miou, finetune_noise_aware, noisy_miou
from evaluators.data import SegmentationData, load_dataset
from evaluators.hardware import (
    DigitalReference,
    HardwareConfig,
    cost_digital,
    cost_network,
    extract_layers,
)
from evaluators.network import build_network
from evaluators.noise import NoiseConfig
from evaluators.supernet import (
    Supernet,
    SupernetRecipe,
    SupernetSettings,
    SupernetSpace,
    fingerprint,
    load_supernet,
    obtain_supernet,
    recalibrate_bn,
    recalibration_images,
)
from evaluators.training import resolve_device, train

WEIGHTS_FORMAT = 1  # bump when training changes so stale cached weights are not reused


def _standalone(
    evaluator: PhotonicSegmentationEvaluator, params: Mapping[str, Any], hardware: HardwareConfig
) -> nn.Module:
    """The design trained from scratch (or its cached weights)."""
    network = evaluator.build(params)
    evaluator.trained(network, params, hardware)
    return network


def _inherited(
    evaluator: PhotonicSegmentationEvaluator, params: Mapping[str, Any], hardware: HardwareConfig
) -> nn.Module:
    """The design with the supernet's weights and batch-norm statistics of its own."""
    network = evaluator.supernet.network(params)
    images = recalibration_images(evaluator.data, evaluator.options.recalibration_images)
    recalibrate_bn(network, images)
    return network


Fidelity = Callable[["PhotonicSegmentationEvaluator", Mapping[str, Any], HardwareConfig], nn.Module]
FIDELITIES: dict[str, Fidelity] = {"supernet": _inherited, "standalone": _standalone}
"""Fidelity name -> how a design gets its weights (an eval-mode network)."""


class EvaluatorOptionsError(ValueError):
    """A bad evaluator option: one line naming it."""


@dataclass(frozen=True)
class SegmentationOptions:
    """Options of :class:`PhotonicSegmentationEvaluator` (the ``evaluator.options`` of a space)."""

    dataset: str = "synthetic"
    data_root: str | None = None
    image_size: tuple[int, int] = (64, 64)
    num_train: int | None = None
    num_val: int | None = None
    fidelity: str = "supernet"
    epochs: int = 5
    batch_size: int = 16
    lr: float = 1e-2
    finetune_epochs: int = 0
    finetune_lr: float = 2e-3
    noise_samples: int = 3
    supernet: dict[str, Any] = field(default_factory=dict)
    recalibration_images: int = 64
    noise: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    hardware_only: bool = False
    retrain: bool = False
    cache_dir: str | None = None
    supernet_path: str | None = None  # set by prepare: the trained supernet workers load

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", tuple(self.image_size))
        if self.fidelity not in FIDELITIES:
            raise EvaluatorOptionsError(
                f"fidelity = {self.fidelity!r}: choose one of {', '.join(FIDELITIES)}"
            )
        for name in ("epochs", "batch_size", "noise_samples", "recalibration_images"):
            if getattr(self, name) < 1:
                raise EvaluatorOptionsError(f"{name} = {getattr(self, name)}: must be at least 1")
        if self.finetune_epochs < 0:
            raise EvaluatorOptionsError(f"finetune_epochs = {self.finetune_epochs}: must be >= 0")
        NoiseConfig.create(**self.noise)  # an unknown or out-of-range noise knob fails here
        SupernetSettings.create(**self.supernet)
        DigitalReference(**self.reference)

    def training_key(self, params: Mapping[str, Any]) -> str:
        """Content key of a trained network: the design plus everything training depends on."""
        relevant = {
            name: getattr(self, name)
            for name in (
                "dataset",
                "data_root",
                "image_size",
                "num_train",
                "num_val",
                "epochs",
                "batch_size",
                "lr",
                "finetune_epochs",
                "finetune_lr",
                "noise",
                "hardware",
                "seed",
            )
        }
        blob = json.dumps([WEIGHTS_FORMAT, dict(params), relevant], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


class PhotonicSegmentationEvaluator:
    """Accuracy under photonic noise plus the accelerator's cost, for one design at a time."""

    def __init__(self, **options: Any) -> None:
        known = {f.name for f in fields(SegmentationOptions)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise EvaluatorOptionsError(
                f"unknown option {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        self.options = SegmentationOptions(**options)
        self._data: SegmentationData | None = None
        self._supernet: Supernet | None = None

    # -- the evaluator protocol -----------------------------------------------------------

    def prepare(self, cache_dir: Path, domains: Mapping[str, Any]) -> dict[str, Any]:
        """Give workers the cache directory (trained weights are kept there for export) and,
        for the supernet fidelity, the supernet of ``domains`` (the space's params), trained
        here unless a valid one with the same content key is cached."""
        extra = {"cache_dir": str(cache_dir)}
        if self.options.fidelity != "supernet" or self.options.hardware_only:
            return extra
        if self._data is None:  # not setup(): the driver trains on all its cores, not `threads`
            self._data = self._load_data()
        recipe = self.supernet_recipe(SupernetSpace.from_domains(domains))
        path = obtain_supernet(
            recipe,
            cache_dir,
            self.data,
            noise_of=lambda hw: self.noise_config(self.hardware_config(hw)),
            device=self.options.device,
        )
        return {**extra, "supernet_path": str(path)}

    def setup(self) -> None:
        """Load the data set (and the supernet, if any) once per worker and keep torch to this
        worker's share of cores."""
        if self.options.threads is not None:
            torch.set_num_threads(self.options.threads)
        self._data = self._load_data()
        if self.options.supernet_path is not None and not self.options.hardware_only:
            self._supernet = load_supernet(Path(self.options.supernet_path))

    def evaluate(self, params: dict[str, Any]) -> dict[str, float]:
        hardware = self.hardware_config(params)
        if self.options.hardware_only:
            return self.hardware_metrics(self.build(params), hardware)
        start = time.perf_counter()
        network = self.network(params, hardware)
        metrics = self.hardware_metrics(network, hardware)
        data = self.data
        noise = self.noise_config(hardware)
        score = noisy_miou(
            network,
            data,
            noise,
            samples=self.options.noise_samples,
            seed=self.options.seed,
            device=self.options.device,
        )
        metrics.update(
            miou=score.miou,
            miou_std=score.miou_std,
            miou_clean=clean_miou(network, data, self.options.device),
            train_s=time.perf_counter() - start,
        )
        return metrics

    def export(self, params: dict[str, Any], out_dir: Path) -> None:
        """Write the runnable model and the hardware report of a design (see evaluators.export)."""
        from evaluators.export import export_design

        hardware = self.hardware_config(params)
        fidelity = "standalone" if self.options.retrain else self.options.fidelity
        export_design(self, self.network(params, hardware, fidelity), params, hardware, out_dir)

    # -- pieces ---------------------------------------------------------------------------

    @property
    def data(self) -> SegmentationData:
        if self._data is None:
            self.setup()
        assert self._data is not None
        return self._data

    def _load_data(self) -> SegmentationData:
        return load_dataset(
            self.options.dataset,
            data_root=self.options.data_root,
            image_size=self.options.image_size,
            seed=self.options.seed,
            num_train=self.options.num_train,
            num_val=self.options.num_val,
        )

    @property
    def supernet(self) -> Supernet:
        """The trained supernet ``prepare`` made (loaded once per worker)."""
        if self._supernet is None:
            if self.options.supernet_path is None:
                raise EvaluatorOptionsError(
                    "fidelity 'supernet' needs a trained supernet: run prepare(cache_dir, domains)"
                    " first (dse search does), or use fidelity: standalone"
                )
            self._supernet = load_supernet(Path(self.options.supernet_path))
        return self._supernet

    def supernet_recipe(self, space: SupernetSpace) -> SupernetRecipe:
        """What the supernet of ``space`` depends on; its key names the cache file."""
        options = self.options
        return SupernetRecipe(
            space=space,
            settings=SupernetSettings.create(**options.supernet),
            num_classes=self.data.num_classes,
            seed=options.seed,
            data_fingerprint=fingerprint(self.data),
            context={
                "dataset": options.dataset,
                "image_size": options.image_size,
                "noise": options.noise,
                "hardware": options.hardware,
            },
        )

    def network(
        self, params: Mapping[str, Any], hardware: HardwareConfig, fidelity: str | None = None
    ) -> nn.Module:
        """The design's network with weights from ``fidelity`` (default: the option's)."""
        return FIDELITIES[fidelity or self.options.fidelity](self, params, hardware)

    def hardware_config(self, params: Mapping[str, Any]) -> HardwareConfig:
        """The design's hardware: the options' base ``hardware`` params, then the design's."""
        return HardwareConfig.from_params({**self.options.hardware, **params})

    def noise_config(self, hardware: HardwareConfig) -> NoiseConfig:
        return NoiseConfig.from_hardware(hardware, **self.options.noise)

    def build(self, params: Mapping[str, Any]) -> nn.Module:
        return build_network(params, self.data.num_classes, seed=self.options.seed)

    def input_shape(self) -> tuple[int, int, int, int]:
        height, width = self.options.image_size
        return (1, 3, height, width)

    def hardware_metrics(self, network: nn.Module, hardware: HardwareConfig) -> dict[str, float]:
        """Photonic costs of the network, plus the digital reference's as ``digital_*``."""
        layers = extract_layers(network, self.input_shape())
        metrics = cost_network(layers, hardware).metrics()
        digital = cost_digital(layers, DigitalReference(**self.options.reference))
        for name in ("throughput_fps", "latency_ms", "energy_uj", "power_w"):
            metrics[f"digital_{name}"] = digital[name]
        return metrics

    def trained(
        self, network: nn.Module, params: Mapping[str, Any], hardware: HardwareConfig
    ) -> None:
        """Train ``network`` in place (float, then noise-aware fine-tuning), or load the cached
        weights of an identical earlier training."""
        path = self._weights_path(params)
        if path is not None and path.exists() and not self.options.retrain:
            network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            network.eval()
            return
        options = self.options
        train(
            network,
            self.data,
            epochs=options.epochs,
            seed=options.seed,
            device=options.device,
            batch_size=options.batch_size,
            lr=options.lr,
        )
        if options.finetune_epochs:
            finetune_noise_aware(
                network,
                self.data,
                self.noise_config(hardware),
                epochs=options.finetune_epochs,
                seed=options.seed,
                lr=options.finetune_lr,
                device=options.device,
            )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            torch.save({k: v.cpu() for k, v in network.state_dict().items()}, temporary)
            temporary.replace(path)

    def _weights_path(self, params: Mapping[str, Any]) -> Path | None:
        if self.options.cache_dir is None:
            return None
        key = self.options.training_key(params)
        return Path(self.options.cache_dir) / "weights" / f"{key}.pt"

    def describe(self) -> dict[str, Any]:
        """The options as plain data (for reports)."""
        described = asdict(self.options)
        described["device"] = str(resolve_device(self.options.device))
        return described
