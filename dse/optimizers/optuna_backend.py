"""Optuna samplers (NSGA-II, NSGA-III, TPE, GP, random) as generation-wise ask/tell optimizers.

The study lives in memory: the durable record of a search is the engine's ledger, replayed
through ``ask``/``tell`` on resume. A fresh sampler seeded for each generation makes that
replay, and runs with any number of workers, produce exactly the same designs.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from dse.optimizers.base import Optimizer, register
from dse.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from dse.trial import Trial


def to_distribution(spec: IntParam | FloatParam | CategoricalParam) -> BaseDistribution:
    """The Optuna distribution of a space parameter."""
    if isinstance(spec, IntParam):
        return IntDistribution(spec.low, spec.high, step=spec.step, log=spec.log)
    if isinstance(spec, FloatParam):
        return FloatDistribution(spec.low, spec.high, step=spec.step, log=spec.log)
    return CategoricalDistribution(spec.choices)


class OptunaOptimizer(Optimizer):
    """Base of the Optuna-backed optimizers; subclasses choose the sampler."""

    def __init__(self, space: SearchSpace, *, population_size: int, seed: int) -> None:
        super().__init__(space, population_size=population_size, seed=seed)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        directions = [o.direction for o in space.objectives]
        # ask() gives the study a sampler seeded for each generation
        self._study = optuna.create_study(directions=directions)
        self._distributions = {name: to_distribution(spec) for name, spec in space.params.items()}
        self._asked: list[optuna.Trial] = []

    @abstractmethod
    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        """The sampler for one generation, seeded with that generation's seed."""

    def ask(self) -> list[dict[str, Any]]:
        self._study.sampler = self.make_sampler(self.generation_seed())
        self._asked = [self._study.ask(self._distributions) for _ in range(self.population_size)]
        return [dict(trial.params) for trial in self._asked]

    def tell(self, trials: Sequence[Trial]) -> None:
        names = [c.metric for c in self.space.constraints]
        for asked, trial in zip(self._asked, trials, strict=False):
            if not trial.ok:
                self._study.tell(asked, state=TrialState.FAIL)
                continue
            for index, value in enumerate(self.space.violations(trial.metrics)):
                asked.set_constraint(f"{index}:{names[index]}", value)
            self._study.tell(asked, self.space.objective_values(trial.metrics))
        self.generation += 1


@register("nsga2")
class NSGA2Optimizer(OptunaOptimizer):
    """Optuna's NSGA-II with constrained domination (the default optimizer)."""

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.NSGAIISampler(population_size=self.population_size, seed=seed)


@register("tpe")
class TPEOptimizer(OptunaOptimizer):
    """Optuna's multi-objective TPE (its v5 default), batched with the constant liar."""

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


@register("random")
class RandomOptimizer(OptunaOptimizer):
    """Uniform random search: the baseline every other optimizer must beat."""

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)


@register("nsga3")
class NSGA3Optimizer(OptunaOptimizer):
    """Optuna's NSGA-III: NSGA-II with reference-point niching instead of crowding distance,
    which keeps a front spread out where crowding distance loses it (three objectives and up;
    Deb & Jain 2014)."""

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():  # "experimental" would be said every generation
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.NSGAIIISampler(population_size=self.population_size, seed=seed)


@register("gp")
class GPOptimizer(OptunaOptimizer):
    """Optuna's Gaussian-process Bayesian optimization: log expected hypervolume improvement,
    constrained (qLogCEHVI) when the space has constraints, batched over a generation (the
    designs asked before the generation is told count as pending points).

    A GP's cost grows with the history (each fit is cubic in the trials, for every objective and
    constraint) while its edge over evolution is at small budgets, so from ``max_history``
    trials on the search goes on with NSGA-II, whose first parents are chosen from the whole
    history (costs per generation in `benchmarks/RESULTS.md`, optimizer cost).
    """

    startup_trials = 10  # random designs before the first GP fit (Optuna's default)
    max_history = 200

    def __init__(self, space: SearchSpace, *, population_size: int, seed: int) -> None:
        super().__init__(space, population_size=population_size, seed=seed)
        self._handed_over = False

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        if len(self._study.get_trials(deepcopy=False)) < self.max_history:
            return optuna.samplers.GPSampler(
                seed=seed, n_startup_trials=self.startup_trials, warn_independent_sampling=False
            )
        if not self._handed_over:
            self._hand_over_to_nsga2()
        return optuna.samplers.NSGAIISampler(population_size=self.population_size, seed=seed)

    def _hand_over_to_nsga2(self) -> None:
        """Make the whole history NSGA-II's generation 0, so its elitist selection picks the
        first parents from every design the GP saw (not from a fresh random generation)."""
        key = optuna.samplers.NSGAIISampler._get_generation_key()  # where NSGA-II keeps it
        history = [
            optuna.trial.create_trial(
                state=trial.state,
                values=trial.values,
                params=trial.params,
                distributions=trial.distributions,
                system_attrs={**trial.system_attrs, key: 0},
            )
            for trial in self._study.get_trials(deepcopy=False)
        ]
        self._study = optuna.create_study(directions=self._study.directions)
        self._study.add_trials(history)
        self._handed_over = True
