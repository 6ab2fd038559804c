"""Published segmentation networks, and a user's own, as values of the design param ``arch.model``.

Importing this package registers the networks; :func:`build_model` builds one by name. See
:mod:`evaluators.zoo.registry` for the contract every model (and a user factory) meets.
"""

from evaluators.zoo import bisenet, enet, erfnet, fast_scnn, lraspp, unet  # noqa: F401 (registers)
from evaluators.zoo.registry import (
    FAMILY,
    MODELS,
    Normalized,
    ZooModel,
    build_model,
    check_model,
    is_factory,
    model_identity,
    register_model,
)

__all__ = [
    "FAMILY",
    "MODELS",
    "Normalized",
    "ZooModel",
    "build_model",
    "check_model",
    "is_factory",
    "model_identity",
    "register_model",
]
