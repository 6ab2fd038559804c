"""Accuracy measurements of one set of weights, and the cache that keeps them.

A design's score is the mean over its weight samples (:meth:`Fidelity.samples`) of mIoU on
simulated chips; each sample's :class:`Measurement` depends only on its weights (their content
key), the design's noise model, the chips (``noise_samples``, ``seed``), the validation frames
and the code (the source of the whole ``evaluators`` package: an edit anywhere on the way from
weights to score files new measurements). Filed under ``<cache_dir>/scores/<key>.json`` by a
key of all of those, a measurement is computed once: a multi-fidelity search whose higher level
adds a weight sample to the lower one's (``average_float_supernet``) scores only the new
sample, and a resumed search or a second ``dse verify`` rescores nothing."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from torch import nn

import evaluators
from evaluators.accuracy import clean_miou, noisy_miou
from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.files import write_atomically
from evaluators.keys import content_key, source_key
from evaluators.segmentation_options import SegmentationOptions
from evaluators.training import resolve_device

FORMAT = 1  # bump when a measurement's meaning changes in a way the source key cannot see


@dataclass(frozen=True)
class Measurement:
    """One set of weights on the validation split: mIoU on each simulated chip, and in float."""

    noisy: tuple[float, ...]
    clean: float


def measure(
    network: nn.Module, design: Design, options: SegmentationOptions, data: SegmentationData
) -> Measurement:
    """``network`` on ``options.noise_samples`` chips of the design's noise model, and clean."""
    noisy = noisy_miou(
        network,
        data,
        design.noise,
        samples=options.noise_samples,
        seed=options.seed,
        device=options.device,
    )
    return Measurement(noisy.samples, clean_miou(network, data, options.device))


class MeasurementCache:
    """Measurements by content key (no cache without a cache directory; see the module)."""

    def __init__(self, cache_dir: str | None) -> None:
        self.directory = Path(cache_dir) / "scores" if cache_dir is not None else None

    @staticmethod
    def key(weights: str, design: Design, options: SegmentationOptions, validation: str) -> str:
        """The key of a measurement of the weights keyed ``weights`` on the validation split
        whose fingerprint is ``validation``."""
        code = source_key(evaluators)  # all of it: slicing, recalibration, noise, mIoU
        chips = [options.noise_samples, options.seed, str(resolve_device(options.device))]
        return content_key([FORMAT, weights, asdict(design.noise), chips, validation, code])

    def load(self, key: str) -> Measurement | None:
        """The measurement filed under ``key``; None when there is none or it does not read
        (it is then measured again and replaced)."""
        path = self._path(key)
        if path is None or not path.exists():
            return None
        try:
            stored = json.loads(path.read_text())
            return Measurement(tuple(map(float, stored["noisy"])), float(stored["clean"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, key: str, measurement: Measurement) -> None:
        path = self._path(key)
        if path is None:
            return
        text = json.dumps(asdict(measurement))
        write_atomically(path, lambda temporary: temporary.write_text(text))

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.json" if self.directory is not None else None
