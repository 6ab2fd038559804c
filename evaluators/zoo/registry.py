"""Published segmentation networks by name, and a user's own network by ``module:factory``.

A design names its network with ``arch.model``: ``family`` (the default) is the project's own
searched family (:mod:`evaluators.network`); a registered name (``@register_model``) is a
published network built from its paper's definition; ``module:factory`` is a user's network.
Every model maps float ``N x 3 x H x W`` RGB in [0, 1] to logits ``N x C x H x W``, so the
evaluator trains, scores under noise and costs all of them alike.

A user factory is code a design file names, so it is imported under the engine's rule for
evaluator targets (``dse.evaluator.load_target``: ``--allow-target`` or ``DSE_ALLOWED_TARGETS``).
It is called as ``factory(num_classes=C)`` and must return an ``nn.Module`` with that contract;
its multiply-accumulates must be ``nn.Conv2d`` / ``nn.ConvTranspose2d`` / ``nn.Linear`` modules
(what the noise model simulates and the cost model maps), and it must trace with ``torch.fx``.
"""

import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx
from torch import Tensor, nn

from evaluators.network.config import FAMILY, NetworkConfigError
from evaluators.network.model import RGB_MEAN, RGB_STD, check_input_size
from evaluators.registry import Registry

torch.fx.wrap("check_input_size")  # fx wraps per module: kept out of this module's graphs too


@dataclass(frozen=True)
class ZooModel:
    """A published network: its factory, where its definition comes from, its total stride."""

    build: Callable[[int], nn.Module]  # num_classes -> the bare network (normalised input)
    source: str
    downsampling: int


MODELS: Registry[ZooModel] = Registry("model")


def register_model(
    name: str, *, source: str, downsampling: int
) -> Callable[[Callable[[int], nn.Module]], Callable[[int], nn.Module]]:
    """Function decorator: ``factory(num_classes)`` becomes ``arch.model: name``."""

    def add(factory: Callable[[int], nn.Module]) -> Callable[[int], nn.Module]:
        MODELS.register(name)(ZooModel(factory, source, downsampling))
        return factory

    return add


class Normalized(nn.Module):
    """A zoo network behind the family's input convention: RGB in [0, 1], ImageNet-normalised
    inside, H and W checked against the network's total stride (one line, not a shape error
    deep inside a concatenation)."""

    mean: Tensor
    std: Tensor

    def __init__(self, network: nn.Module, downsampling: int) -> None:
        super().__init__()
        self.network = network
        self.downsampling = downsampling
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(RGB_STD).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = check_input_size(x, self.downsampling)
        out: Tensor = self.network((x - self.mean) / self.std)
        return out


def is_factory(model: str) -> bool:
    """Whether ``arch.model`` names a user's ``module:factory`` rather than a registered name."""
    return ":" in model


def check_model(model: str) -> None:
    """Fail in one line unless ``model`` is the family, a registered name or ``module:factory``."""
    if model == FAMILY or model in MODELS:
        return
    module, _, attribute = model.partition(":")
    if not (module and attribute):
        known = ", ".join([FAMILY, *sorted(MODELS)])
        raise NetworkConfigError(f"arch.model={model!r}: one of {known}, or module:factory")


def build_model(model: str, num_classes: int, seed: int | None = None) -> nn.Module:
    """The zoo network or user network ``model`` for ``num_classes`` classes (fresh weights,
    repeatable from ``seed`` without touching the global RNG)."""
    check_model(model)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if not is_factory(model):
            entry = MODELS[model]
            return Normalized(entry.build(num_classes), entry.downsampling)
        return _from_factory(model, num_classes)


def _load_factory(model: str) -> Any:
    from dse.evaluator import load_target  # the engine's import rule for code a file names

    factory = load_target(model)
    if not callable(factory):
        raise NetworkConfigError(f"arch.model={model!r}: not a callable factory")
    return factory


def _from_factory(model: str, num_classes: int) -> nn.Module:
    network = _load_factory(model)(num_classes=num_classes)
    if not isinstance(network, nn.Module):
        raise NetworkConfigError(
            f"arch.model={model!r}: returned {type(network).__name__}, not an nn.Module"
        )
    return network


def model_identity(model: str) -> str:
    """What cached weights of ``model`` depend on besides its name: for a user factory, the
    SHA-256 of its module's source file (imported by the engine's rule), so editing the
    network files new weights."""
    if not is_factory(model):
        return model
    _load_factory(model)
    origin = getattr(sys.modules[model.partition(":")[0]], "__file__", None)
    if origin is None or not os.path.isfile(origin):
        return model
    with open(origin, "rb") as source:
        return f"{model}@{hashlib.sha256(source.read()).hexdigest()[:16]}"
