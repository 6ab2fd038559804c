"""The ask/tell interface every optimizer implements, and the registry that names them.

Optimizers work in synchronous generations: ``ask()`` returns a whole population of designs,
the runner evaluates them in parallel, ``tell()`` reports them back in the order they were
asked. Driving every optimizer this way keeps NSGA-II's generation bookkeeping exact, makes
results independent of the number of workers, and lets a search be resumed by replaying its
ledger through ``ask``/``tell``: an optimizer's designs depend only on the search seed and the
results told so far, never on timing. (The Optuna backends reseed their sampler for every
generation from the seed and the generation index, :meth:`Optimizer.generation_seed`; pymoo's
NSGA-II draws from one generator seeded once with the search seed, which a replay of the same
asks and tells takes through the same states.)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from dse.errors import SearchError
from dse.space import SearchSpace
from dse.trial import Trial


class Optimizer(ABC):
    """Proposes generations of designs and learns from their evaluations."""

    def __init__(self, space: SearchSpace, *, population_size: int, seed: int) -> None:
        self.space = space
        self.population_size = population_size
        self.seed = seed
        self.generation = 0

    @abstractmethod
    def ask(self) -> list[dict[str, Any]]:
        """The params of the next generation's designs (at most ``population_size``)."""

    @abstractmethod
    def tell(self, trials: Sequence[Trial]) -> None:
        """Results of the last ``ask``, in ask order; a prefix when the budget cut it short."""

    def generation_seed(self) -> int:
        """A seed for the current generation derived from the search seed alone."""
        return int(np.random.SeedSequence([self.seed, self.generation]).generate_state(1)[0])


OptimizerClass = TypeVar("OptimizerClass", bound=type[Optimizer])
OPTIMIZERS: dict[str, type[Optimizer]] = {}


def register(name: str) -> Callable[[OptimizerClass], OptimizerClass]:
    """Class decorator adding an optimizer to the registry under ``name``."""

    def decorate(cls: OptimizerClass) -> OptimizerClass:
        if name in OPTIMIZERS:
            raise ValueError(f"optimizer {name!r} registered twice")
        OPTIMIZERS[name] = cls
        return cls

    return decorate


def make_optimizer(name: str, space: SearchSpace, *, population_size: int, seed: int) -> Optimizer:
    """Build the optimizer registered as ``name``."""
    if name not in OPTIMIZERS:
        raise SearchError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](space, population_size=population_size, seed=seed)
