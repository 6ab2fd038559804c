"""pymoo's NSGA-II over mixed variables, behind the generation-wise ask/tell interface.

pymoo minimises and knows nothing of our parameter types, so each parameter is encoded once
here: integers and stepped floats as an index into their grid, log-scaled ones as a real on a
log axis, categories as the index of a choice. Failed evaluations become infeasible designs
(an extra inequality column), so constrained domination ranks them below every working design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.evaluator import Evaluator
from pymoo.core.mixed import (
    MixedVariableDuplicateElimination,
    MixedVariableMating,
    MixedVariableSampling,
)
from pymoo.core.problem import Problem
from pymoo.core.variable import Choice, Integer, Real, Variable
from pymoo.problems.static import StaticProblem

from dse.optimizers.base import Optimizer, register
from dse.space import CategoricalParam, FloatParam, IntParam, Scalar, SearchSpace
from dse.trial import Trial

_FAILED = 1.0  # constraint value of a failed design: infeasible, whatever the real constraints


class _Codec:
    """Maps one space parameter to a pymoo variable and back."""

    def __init__(self, spec: IntParam | FloatParam | CategoricalParam) -> None:
        self.spec = spec
        self.grid: list[Scalar] | None = None
        if isinstance(spec, CategoricalParam):
            self.grid = list(spec.choices)
        elif isinstance(spec, IntParam) and not spec.log:
            self.grid = list(spec.values())
        elif isinstance(spec, FloatParam) and spec.step is not None:
            count = round((spec.high - spec.low) / spec.step)
            self.grid = [spec.low + i * spec.step for i in range(count + 1)]

    def variable(self) -> Variable:
        if isinstance(self.spec, CategoricalParam):
            return Choice(options=list(range(len(self.spec.choices))))
        if self.grid is not None:
            return Integer(bounds=(0, len(self.grid) - 1))
        assert isinstance(self.spec, IntParam | FloatParam)
        if self.spec.log:
            return Real(bounds=(math.log(self.spec.low), math.log(self.spec.high)))
        return Real(bounds=(self.spec.low, self.spec.high))

    def decode(self, value: Any) -> Scalar:
        if self.grid is not None:
            return self.grid[int(value)]
        assert isinstance(self.spec, IntParam | FloatParam)
        real = math.exp(float(value)) if self.spec.log else float(value)
        real = min(max(real, self.spec.low), self.spec.high)
        return round(real) if isinstance(self.spec, IntParam) else real


@register("pymoo-nsga2")
class PymooNSGA2Optimizer(Optimizer):
    """pymoo's NSGA-II (mixed-variable sampling, mating and duplicate elimination)."""

    def __init__(self, space: SearchSpace, *, population_size: int, seed: int) -> None:
        super().__init__(space, population_size=population_size, seed=seed)
        self._codecs = {name: _Codec(spec) for name, spec in space.params.items()}
        self._problem = Problem(
            vars={name: codec.variable() for name, codec in self._codecs.items()},
            n_obj=len(space.objectives),
            n_ieq_constr=len(space.constraints) + 1,
        )
        self._algorithm = NSGA2(
            pop_size=population_size,
            sampling=MixedVariableSampling(),
            mating=MixedVariableMating(eliminate_duplicates=MixedVariableDuplicateElimination()),
            eliminate_duplicates=MixedVariableDuplicateElimination(),
        )
        # One generator for the whole search, seeded once: a replay's asks and tells retrace it.
        self._algorithm.setup(self._problem, termination=("n_gen", 2**62), seed=seed)
        self._population: Any = None

    def ask(self) -> list[dict[str, Any]]:
        self._population = self._algorithm.ask()
        return [self._decode(x) for x in self._population.get("X")]

    def tell(self, trials: Sequence[Trial]) -> None:
        population = self._population[: len(trials)]
        objectives = np.array([self._objectives(t) for t in trials], dtype=float)
        constraints = np.array([self._constraints(t) for t in trials], dtype=float)
        static = StaticProblem(self._problem, F=objectives, G=constraints)
        Evaluator().eval(static, population)
        self._algorithm.tell(infills=population)
        self.generation += 1

    def _decode(self, x: dict[str, Any]) -> dict[str, Any]:
        return {name: codec.decode(x[name]) for name, codec in self._codecs.items()}

    def _objectives(self, trial: Trial) -> list[float]:
        if not trial.ok:
            return [0.0] * len(self.space.objectives)
        values = self.space.objective_values(trial.metrics)
        return [-v if o.maximize else v for v, o in zip(values, self.space.objectives, strict=True)]

    def _constraints(self, trial: Trial) -> list[float]:
        if not trial.ok:
            return [_FAILED] * (len(self.space.constraints) + 1)
        return [*self.space.violations(trial.metrics), 0.0]
