"""Optimizers behind one generation-wise ask/tell interface, chosen by name."""

from dse.optimizers import optuna_backend, pymoo_backend  # noqa: F401  (they register)
from dse.optimizers.base import OPTIMIZERS, Optimizer, make_optimizer, register

__all__ = ["OPTIMIZERS", "Optimizer", "make_optimizer", "register"]
