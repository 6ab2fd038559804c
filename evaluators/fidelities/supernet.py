"""``fidelity: supernet``: every design inherits its slice of one weight-sharing supernet.

``prepare`` trains one supernet over the search space's domains (options ``supernet: {...}``,
see :class:`evaluators.supernet.SupernetSettings`), once per content key, cached under
``<cache_dir>/supernets/``; every worker loads it once; every design then gets its slice of the
weights and batch-norm statistics of its own from ``recalibration_images`` training images
(:mod:`evaluators.supernet.recalibration`). Seconds per design instead of minutes of training;
``benchmarks/ranking_fidelity.py`` measures how well its ranking agrees with standalone training.

With ``average_float_supernet`` the design is also scored on its slice of the float supernet the
same training left before its noise phase, and the two scores are averaged: the noise phase's
draws of designs and chips move a slice's noisy score by chance (Kendall tau 0.74-0.81 against
the standalone reference over three draws), and the float slice's errors are not those
(the pair: 0.815-0.82; over two trainings of the 40-epoch recipe 0.82-0.85 against 0.80-0.83
for the slice alone, and 0.79-0.82 against 0.78-0.83 over two of 50 epochs; benchmarks/
RESULTS.md, ranking fidelity). Twice the scoring time of one slice, or one slice more where the
noise-trained one was measured already (a search's first level: the measurement is cached
under the same key, :mod:`evaluators.measurements`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from torch import nn

from evaluators.accuracy import CALIBRATION_CHIP_OFFSET, DYNAMIC_OFFSET
from evaluators.data import SegmentationData
from evaluators.design import Design, hardware_of, noise_of
from evaluators.fidelities.base import Cost, Fidelity, WeightSample, register_fidelity
from evaluators.keys import content_key
from evaluators.network import FAMILY
from evaluators.noise import photonic_mode
from evaluators.segmentation_options import EvaluatorOptionsError, SegmentationOptions
from evaluators.supernet import (
    Supernet,
    SupernetRecipe,
    SupernetSpace,
    fingerprint,
    float_recipe,
    load_supernet,
    obtain_supernet,
    recalibrate_bn,
    recalibration_images,
)


def recalibrate(
    network: nn.Module, design: Design, options: SegmentationOptions, data: SegmentationData
) -> None:
    """Give a supernet slice batch-norm statistics of the design's own activations: in float,
    or with ``recalibration_noise`` as its chip computes them (one calibration chip, outside
    the seed ranges of evaluation and training chips; the input noise folded as in scoring).
    A standalone design's noise-aware fine-tuning leaves it statistics gathered under noise;
    the float ones of a supernet slice miss the shift that quantization and noise give every
    layer's outputs."""
    images = recalibration_images(data, options.recalibration_images)
    noise = None
    if options.recalibration_noise:  # train-mode BN, but folded input noise as when scoring
        auto = design.noise.input_noise == "auto"
        noise = replace(design.noise, input_noise="folded") if auto else design.noise
    chip = CALIBRATION_CHIP_OFFSET + options.seed
    with photonic_mode(network, noise, chip_seed=chip, noise_seed=DYNAMIC_OFFSET + chip):
        recalibrate_bn(network, images)


@register_fidelity("supernet")
class Inherited(Fidelity):
    """Weights sliced from the trained supernet, batch norm recalibrated per design."""

    def __init__(self, options: SegmentationOptions) -> None:
        super().__init__(options)
        self._supernet: Supernet | None = None
        self._float_supernet: Supernet | None = None

    def prepare(self, cache_dir: Path, domains: Mapping[str, Any]) -> dict[str, Any]:
        """Train the supernet of ``domains`` unless a valid one with its key is cached."""
        options = self.options
        data = options.load_data()  # on the driver: it trains on all its cores, not `threads`
        recipe = self.recipe(SupernetSpace.from_domains(domains), data)

        def obtain(recipe: SupernetRecipe) -> str:
            path = obtain_supernet(
                recipe,
                cache_dir,
                data,
                noise_of=lambda hw: noise_of(hardware_of(hw, options), options),
                device=options.device,
            )
            return str(path)

        extra = {"supernet_path": obtain(recipe)}
        if options.average_float_supernet:  # found where training the first left it
            extra["float_supernet_path"] = obtain(float_recipe(recipe))
        return extra

    def setup(self) -> None:
        if self.options.supernet_path is not None:
            self._supernet = load_supernet(Path(self.options.supernet_path))
        if self.options.float_supernet_path is not None:
            self._float_supernet = load_supernet(Path(self.options.float_supernet_path))

    def network(self, design: Design, data: SegmentationData) -> nn.Module:
        return self._slice(self.supernet, design, data)

    def samples(self, design: Design, data: SegmentationData) -> list[WeightSample]:
        """The slice of the supernet, then with ``average_float_supernet`` that of its float
        supernet (see the module docstring). The first is keyed as without the float
        supernet, so the lower level of a search measured it already."""
        noisy = partial(self.network, design, data)
        samples = [WeightSample(self._slice_key(self._path(), design), noisy)]
        if self.options.average_float_supernet:
            key = self._slice_key(self._float_path(), design)
            floating = partial(self._float_slice, design, data)  # loads nothing until called
            samples.append(WeightSample(key, floating))
        return samples

    def _float_slice(self, design: Design, data: SegmentationData) -> nn.Module:
        return self._slice(self.float_supernet, design, data)

    def _slice(self, supernet: Supernet, design: Design, data: SegmentationData) -> nn.Module:
        if design.network.model != FAMILY:
            raise EvaluatorOptionsError(
                f"arch.model={design.network.model!r}: fidelity {self.options.fidelity!r} covers"
                " the project's network family only; use fidelity: standalone for it"
            )
        network = supernet.network(design.params)
        recalibrate(network, design, self.options, data)
        return network

    def key(self, design: Design) -> str:
        """The supernet's own key (its file's name), the design and the recalibration images."""
        extra = ["with the float supernet"] if self.options.average_float_supernet else []
        return self._slice_key(self._path(), design, extra)

    def _slice_key(self, supernet: Path, design: Design, extra: Sequence[str] = ()) -> str:
        """The key of ``design``'s recalibrated slice of the supernet filed at ``supernet``."""
        recalibration: list[Any] = [self.options.recalibration_images, self.options.dataset]
        if self.options.recalibration_noise:  # (absent otherwise: earlier keys stay valid)
            recalibration.append("noise")
        recalibration += extra
        return content_key([supernet.stem, dict(design.params), recalibration])

    def cost(self, train_images: int) -> Cost:
        settings = self.options.supernet_settings
        noisy = min(settings.noise_images or train_images, train_images)
        slices = 2 if self.options.average_float_supernet else 1
        return Cost(
            float_once=settings.epochs * train_images,
            noisy_once=settings.noise_epochs * noisy,
            float_per_design=slices * min(self.options.recalibration_images, train_images),
        )

    @property
    def supernet(self) -> Supernet:
        """The trained supernet ``prepare`` made (loaded once per worker)."""
        if self._supernet is None:
            self._supernet = load_supernet(self._path())
        return self._supernet

    @property
    def float_supernet(self) -> Supernet:
        """The float supernet ``prepare`` pointed to (``average_float_supernet``)."""
        if self._float_supernet is None:
            self._float_supernet = load_supernet(self._float_path())
        return self._float_supernet

    def _float_path(self) -> Path:
        if self.options.float_supernet_path is None:
            raise EvaluatorOptionsError(
                "average_float_supernet needs the float supernet's path: run"
                " prepare(cache_dir, domains) first (dse search does)"
            )
        return Path(self.options.float_supernet_path)

    def _path(self) -> Path:
        if self.options.supernet_path is None:
            raise EvaluatorOptionsError(
                "fidelity 'supernet' needs a trained supernet: run prepare(cache_dir, domains)"
                " first (dse search does), or use fidelity: standalone"
            )
        return Path(self.options.supernet_path)

    def recipe(self, space: SupernetSpace, data: SegmentationData) -> SupernetRecipe:
        """What the supernet of ``space`` depends on; its key names the cache file."""
        options = self.options
        return SupernetRecipe(
            space=space,
            settings=options.supernet_settings,
            num_classes=data.num_classes,
            seed=options.seed,
            data_fingerprint=fingerprint(data),
            context={
                "dataset": options.dataset,
                "image_size": options.image_size,
                "noise": options.noise,
                "hardware": options.hardware,
            },
        )
