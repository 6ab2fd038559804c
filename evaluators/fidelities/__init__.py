"""Fidelities: where a design's weights come from (the evaluator option ``fidelity``).

``standalone`` trains every design from scratch; ``supernet`` slices every design from one
weight-sharing supernet trained once per search space. :mod:`.base` defines the protocol and the
registry a new fidelity adds itself to.
"""

from evaluators.fidelities import standalone, supernet  # noqa: F401  (they register)
from evaluators.fidelities.base import FIDELITIES, Cost, Fidelity, register_fidelity

__all__ = ["FIDELITIES", "Cost", "Fidelity", "register_fidelity"]
