"""The fidelity protocol: where a design's eval-mode weights come from, and at what price.

A fidelity is one registered class (``@register_fidelity("name")``); the name is the value of the
evaluator option ``fidelity``. The evaluator builds one instance from its options and calls it:

- ``prepare(cache_dir, domains)`` once per search on the driver, before any worker starts:
  work shared by every design (training a supernet over the space's ``domains``), cached under
  ``cache_dir``; it returns the options the workers are built with (where to find that work).
- ``setup()`` once per worker: load what ``prepare`` made.
- ``network(design, data)`` for every design: the design's network in eval mode, with this
  fidelity's weights. A fidelity owns its caches (trained weights on disk, a loaded supernet).
- ``samples(design, data)``: the weight samples whose accuracy is averaged into the design's
  score, each with its own content key and built only when called (a sample whose measurement
  is cached is never built; :mod:`evaluators.measurements`): ``network``'s first, then any other
  weights of the same design (the supernet fidelity's float supernet). By default ``network``'s
  alone.
- ``key(design)``: the content key of those weights, a hash of everything they depend on, so a
  cache entry is reused exactly when nothing it depends on changed.
- ``cost(train_images)``: what it spends on training, to compare fidelities before running them.

The evaluator itself only composes: resolve the design, ask the fidelity for the network, score
it (:mod:`evaluators.scoring`). docs/architecture.md, "Fidelities", shows how to add one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from torch import nn

from evaluators.data import SegmentationData
from evaluators.design import Design
from evaluators.registry import Registry
from evaluators.segmentation_options import SegmentationOptions


@dataclass(frozen=True)
class Cost:
    """Training a fidelity spends, in images through the network: once per search (shared work,
    on the driver) and per design (on a worker, unless cached). Images through the simulated
    photonic tile (noise-aware training) cost 10-50x a float image on a CPU, so they are counted
    apart; batch-norm recalibration counts its forward-only images as float images."""

    float_once: int = 0
    noisy_once: int = 0
    float_per_design: int = 0
    noisy_per_design: int = 0


@dataclass(frozen=True)
class WeightSample:
    """One set of weights a design is scored with: their content key, and how to get them."""

    key: str
    build: Callable[[], nn.Module]


class Fidelity(ABC):
    """How a design gets its weights (see the module docstring)."""

    def __init__(self, options: SegmentationOptions) -> None:
        self.options = options

    def prepare(self, cache_dir: Path, domains: Mapping[str, Any]) -> dict[str, Any]:
        """Shared one-time work on the driver; the options workers need to find it."""
        return {}

    def setup(self) -> None:  # noqa: B027  (optional hook: most fidelities need nothing)
        """Load what :meth:`prepare` made, once per worker."""

    @abstractmethod
    def network(self, design: Design, data: SegmentationData) -> nn.Module:
        """``design``'s network in eval mode, with this fidelity's weights."""

    def samples(self, design: Design, data: SegmentationData) -> list[WeightSample]:
        """The weights the design is scored with: :meth:`network`'s, then any other samples
        whose accuracy is averaged with it (see the module docstring)."""
        return [WeightSample(self.key(design), partial(self.network, design, data))]

    @abstractmethod
    def key(self, design: Design) -> str:
        """Content key of the weights :meth:`network` gives ``design``."""

    @abstractmethod
    def cost(self, train_images: int) -> Cost:
        """Training spent with a training split of ``train_images`` images."""


FIDELITIES: Registry[type[Fidelity]] = Registry("fidelity")


def register_fidelity(name: str) -> Callable[[type[Fidelity]], type[Fidelity]]:
    """Class decorator: register a :class:`Fidelity` subclass as option ``fidelity: name``."""
    return FIDELITIES.register(name)
