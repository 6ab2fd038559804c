"""Fidelities: where a design's weights come from (the evaluator option ``fidelity``).

``standalone`` trains every design from scratch; ``supernet`` slices every design from one
weight-sharing supernet trained once per search space. :mod:`.base` defines the protocol and the
registry a new fidelity adds itself to; every module of this package is imported here, so a new
fidelity is one registered class in a module of its own.
"""

import importlib
import pkgutil

from evaluators.fidelities.base import (
    FIDELITIES,
    Cost,
    Fidelity,
    WeightSample,
    register_fidelity,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")  # each registers its fidelities

__all__ = ["FIDELITIES", "Cost", "Fidelity", "WeightSample", "register_fidelity"]
