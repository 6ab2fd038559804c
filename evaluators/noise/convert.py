"""Turn a float model's Conv2d/ConvTranspose2d/Linear layers into photonic ones and back, in place.

Conversion swaps ``__class__``: parameters, buffers, hooks and state_dict keys stay the very same
objects, so an optimizer built before conversion keeps training the converted model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from torch import nn

from .config import NoiseConfig
from .layers import (
    PHOTONIC_ATTRIBUTES,
    PhotonicConv2d,
    PhotonicConvTranspose2d,
    PhotonicLayer,
    PhotonicLinear,
)
from .state import NoiseState

__all__ = ["attach_noise", "detach_noise", "photonic_mode"]

_PHOTONIC_CLASS: dict[type[nn.Module], type[PhotonicLayer]] = {
    nn.Conv2d: PhotonicConv2d,
    nn.ConvTranspose2d: PhotonicConvTranspose2d,
    nn.Linear: PhotonicLinear,
}
"""Exact float class -> photonic subclass. Other subclasses keep their own forward, untouched."""

_CONVERTED_FROM = "_photonic_converted_from"
"""Instance attribute marking a layer converted by attach_noise, holding its float class."""


def _gemm_modules(model: nn.Module) -> list[nn.Module]:
    """Modules that are, or can become, photonic layers."""
    return [
        m for m in model.modules() if type(m) in _PHOTONIC_CLASS or isinstance(m, PhotonicLayer)
    ]


def _set_class(module: nn.Module, cls: type[nn.Module], marker: type[nn.Module] | None) -> None:
    """Give ``module`` class ``cls``; a float class leaves no photonic attributes behind."""
    module.__class__ = cls
    module.__dict__.pop(_CONVERTED_FROM, None)
    if marker is not None:
        module.__dict__[_CONVERTED_FROM] = marker
    if not isinstance(module, PhotonicLayer):
        for name in PHOTONIC_ATTRIBUTES:
            module.__dict__.pop(name, None)


def _promote(module: nn.Module) -> PhotonicLayer:
    """The module itself, converted to its photonic class if it is still a float layer."""
    if not isinstance(module, PhotonicLayer):
        _set_class(module, _PHOTONIC_CLASS[type(module)], marker=type(module))
    return cast(PhotonicLayer, module)


def attach_noise(
    model: nn.Module, config: NoiseConfig | None, *, chip_seed: int = 0, noise_seed: int = 0
) -> NoiseState | None:
    """Make every Conv2d/Linear photonic and give all of them one shared :class:`NoiseState`.

    Calling it again (say, every training step with fresh seeds or ``config.scaled(s)``) simply
    replaces the state. ``config=None`` is :func:`detach_noise`. Returns the attached state.
    """
    if config is None:
        detach_noise(model)
        return None
    state = NoiseState.create(config, chip_seed, noise_seed)
    for module in _gemm_modules(model):
        _promote(module).set_noise_state(state)
    return state


def detach_noise(model: nn.Module) -> None:
    """Drop the noise state everywhere; layers converted by :func:`attach_noise` turn back."""
    for module in _gemm_modules(model):
        if isinstance(module, PhotonicLayer):
            module.set_noise_state(None)
        original = module.__dict__.get(_CONVERTED_FROM)
        if original is not None:
            _set_class(module, original, marker=None)


@contextmanager
def photonic_mode(
    model: nn.Module, config: NoiseConfig | None, *, chip_seed: int = 0, noise_seed: int = 0
) -> Iterator[NoiseState | None]:
    """Run ``model`` on the photonic model inside the block; on exit it is exactly as before."""
    saved = [
        (
            m,
            type(m),
            m.__dict__.get(_CONVERTED_FROM),
            m.noise_state if isinstance(m, PhotonicLayer) else None,
        )
        for m in _gemm_modules(model)
    ]
    try:
        yield attach_noise(model, config, chip_seed=chip_seed, noise_seed=noise_seed)
    finally:
        for module, cls, marker, state in saved:
            _set_class(module, cls, marker)
            if isinstance(module, PhotonicLayer):
                module.set_noise_state(state)
