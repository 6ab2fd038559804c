"""Optuna samplers (NSGA-II, NSGA-III, TPE, GP, random) as generation-wise ask/tell optimizers.

The study lives in memory: the durable record of a search is the engine's ledger, replayed
through ``ask``/``tell`` on resume. A fresh sampler seeded for each generation makes that
replay, and runs with any number of workers, produce exactly the same designs.
"""

from __future__ import annotations

import functools
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
from optuna.search_space import IntersectionSearchSpace
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
        self._intersection = IntersectionSearchSpace()  # for the genetic samplers, see below

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


class _OneGeneration:
    """For Optuna's genetic samplers: what they look up on every ask, looked up once.

    On each ask, Optuna's NSGA-II and NSGA-III find the new trial's generation, its parents and
    the search space by scanning every trial of the study: linear in the history per design,
    which made a 20 000-design search spend minutes in ``ask``. The engine makes a fresh sampler
    for each generation and asks the whole generation before it tells any of it, so no trial
    completes during one sampler's life: the three answers are the same for every ask of it,
    and are computed once (the first two by Optuna's own code) and reused. The search space is
    the intersection of the told trials' distributions, which ``intersection`` (one for the
    whole search) updates from where it last stopped instead of from the first trial, as
    NSGA-II's own does; the designs are the same as Optuna's.
    """

    def __init__(self, *args: Any, intersection: IntersectionSearchSpace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._intersection = intersection
        self._asked_generation: int | None = None
        self._parents: dict[int, list[optuna.trial.FrozenTrial]] = {}
        self._parent_calls: dict[int, int] = {}
        self._relative_space: dict[str, BaseDistribution] | None = None

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._relative_space is None:  # single values are sampled independently (Optuna)
            space = self._intersection.calculate(study)
            self._relative_space = {n: d for n, d in space.items() if not d.single()}
        return self._relative_space

    def get_trial_generation(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> int:
        key = self._get_generation_key()  # type: ignore[attr-defined]
        if key in trial.system_attrs:
            return int(trial.system_attrs[key])
        if self._asked_generation is None:
            self._asked_generation = super().get_trial_generation(study, trial)  # type: ignore[misc]
        else:
            study._storage.set_trial_system_attr(trial._trial_id, key, self._asked_generation)
        return self._asked_generation

    def get_parent_population(
        self, study: optuna.Study, generation: int
    ) -> list[optuna.trial.FrozenTrial]:
        # Optuna hands the ask that selects the parents their selection order, every later ask
        # the study's order (read back from the cache): the second answer is the one kept.
        calls = self._parent_calls[generation] = self._parent_calls.get(generation, 0) + 1
        if calls <= 2:
            self._parents[generation] = super().get_parent_population(study, generation)  # type: ignore[misc]
        return self._parents[generation]


def _keyed_as(sampler: type, base: type) -> type:
    """``sampler`` keeping ``base``'s keys in the study: Optuna names a subclass's generation
    and parent keys after the subclass, and the history must read the same either way."""
    sampler._GENERATION_KEY = base._get_generation_key()  # type: ignore[attr-defined]
    sampler._PARENT_CACHE_KEY_PREFIX = base._get_parent_cache_key_prefix()  # type: ignore[attr-defined]
    return sampler


@functools.partial(_keyed_as, base=optuna.samplers.NSGAIISampler)
class _NSGAIISampler(_OneGeneration, optuna.samplers.NSGAIISampler):
    pass


@functools.partial(_keyed_as, base=optuna.samplers.NSGAIIISampler)
class _NSGAIIISampler(_OneGeneration, optuna.samplers.NSGAIIISampler):
    pass


@register("nsga2")
class NSGA2Optimizer(OptunaOptimizer):
    """Optuna's NSGA-II with constrained domination."""

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return _NSGAIISampler(
            population_size=self.population_size, seed=seed, intersection=self._intersection
        )


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
            return _NSGAIIISampler(
                population_size=self.population_size, seed=seed, intersection=self._intersection
            )


class _ThenNSGA2(OptunaOptimizer):
    """A model-based sampler for the first ``max_history`` designs, then NSGA-II.

    A model's cost per ask grows with the history it is fitted to, while its edge over
    evolution is at small budgets (`benchmarks/RESULTS.md`, optimizer cost and comparisons), so
    from ``max_history`` trials on the search goes on with NSGA-II, whose first parents are
    chosen from the whole history.
    """

    max_history: int

    def __init__(self, space: SearchSpace, *, population_size: int, seed: int) -> None:
        super().__init__(space, population_size=population_size, seed=seed)
        self._handed_over = False

    @abstractmethod
    def model_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        """The sampler of the first ``max_history`` designs."""

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        if len(self._study.get_trials(deepcopy=False)) < self.max_history:
            return self.model_sampler(seed)
        if not self._handed_over:
            self._hand_over_to_nsga2()
        return _NSGAIISampler(
            population_size=self.population_size, seed=seed, intersection=self._intersection
        )

    def _hand_over_to_nsga2(self) -> None:
        """Make the whole history NSGA-II's generation 0, so its elitist selection picks the
        first parents from every design the model saw (not from a fresh random generation)."""
        key = _NSGAIISampler._get_generation_key()  # where NSGA-II keeps it
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
        self._intersection = IntersectionSearchSpace()  # of the new study
        self._handed_over = True


@register("tpe")
class TPEOptimizer(_ThenNSGA2):
    """Optuna's multi-objective TPE (its v5 default), batched with the constant liar; the
    default optimizer. Its ``ask`` costs ~25 ms a design at 100 designs told and grows
    linearly (~85 ms at 1 000, one loaded core), so from 1 000 designs on NSGA-II goes on."""

    max_history = 1000

    def model_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


@register("gp")
class GPOptimizer(_ThenNSGA2):
    """Optuna's Gaussian-process Bayesian optimization: log expected hypervolume improvement,
    constrained (qLogCEHVI) when the space has constraints, batched over a generation (the
    designs asked before the generation is told count as pending points). Each fit is cubic in
    the trials, for every objective and constraint: NSGA-II goes on from 200 designs."""

    startup_trials = 10  # random designs before the first GP fit (Optuna's default)
    max_history = 200

    def model_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.GPSampler(
            seed=seed, n_startup_trials=self.startup_trials, warn_independent_sampling=False
        )
