"""Optimizers: generation-wise ask/tell, seeded from the search seed so a replay reproduces a
search."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from dse.errors import SearchError
from dse.optimizers import OPTIMIZERS, Optimizer, make_optimizer, register
from dse.problems import PymooProblem, problem_space
from dse.space import parse_space
from dse.trial import Trial

MIXED = parse_space(
    {
        "name": "mixed",
        "evaluator": {"target": "dse.problems:ZeroCost"},
        "objectives": [
            {"name": "f1", "direction": "minimize"},
            {"name": "f2", "direction": "maximize"},
        ],
        "constraints": [{"metric": "f1", "max": 30}],
        "params": {
            "width": {"type": "int", "low": 8, "high": 48, "step": 8},
            "lanes": {"type": "int", "low": 1, "high": 32, "log": True},
            "rate": {"type": "float", "low": 0.5, "high": 10.0, "log": True},
            "gain": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
            "block": {"type": "categorical", "choices": ["standard", "depthwise", "ghost"]},
            "shared": {"type": "categorical", "choices": [True, False]},
        },
    }
)


def evaluate(params: dict[str, Any]) -> dict[str, float]:
    cost = params["width"] * params["lanes"] ** 0.5 / params["rate"]
    quality = params["width"] / 48 + params["gain"] + (params["block"] == "standard")
    return {"f1": cost, "f2": quality}


def drive(name: str, generations: int, seed: int = 7, population: int = 8) -> list[Trial]:
    optimizer = make_optimizer(name, MIXED, population_size=population, seed=seed)
    return drive_optimizer(optimizer, generations)


def drive_optimizer(optimizer: Optimizer, generations: int) -> list[Trial]:
    trials: list[Trial] = []
    for _ in range(generations):
        generation = optimizer.generation
        batch = [
            Trial(len(trials) + i, generation, p, "complete", evaluate(p))
            for i, p in enumerate(optimizer.ask())
        ]
        optimizer.tell(batch)
        trials += batch
    return trials


@pytest.fixture(autouse=True)
def early_gp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GP fits from the second generation on (its fits are the slow part of these tests)."""
    monkeypatch.setattr(OPTIMIZERS["gp"], "startup_trials", 4)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_designs_stay_in_the_space(name: str) -> None:
    for trial in drive(name, 2, population=4):
        p = trial.params
        assert p["width"] in (8, 16, 24, 32, 40, 48) and isinstance(p["width"], int)
        assert 1 <= p["lanes"] <= 32 and isinstance(p["lanes"], int)
        assert 0.5 <= p["rate"] <= 10.0
        assert p["gain"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert p["block"] in ("standard", "depthwise", "ghost")
        assert p["shared"] in (True, False)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_same_seed_same_designs_other_seed_other_designs(name: str) -> None:
    first, again = drive(name, 2, population=4), drive(name, 2, population=4)
    other = drive(name, 1, seed=8, population=4)
    assert [t.params for t in first] == [t.params for t in again]
    assert [t.params for t in first[:4]] != [t.params for t in other]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_failed_designs_do_not_stop_the_optimizer(name: str) -> None:
    optimizer = make_optimizer(name, MIXED, population_size=4, seed=0)
    for _ in range(3):
        generation = optimizer.generation
        designs = optimizer.ask()
        batch = [
            Trial(i, generation, p, "failed" if i % 2 else "complete", {} if i % 2 else evaluate(p))
            for i, p in enumerate(designs)
        ]
        optimizer.tell(batch)
    assert optimizer.generation == 3


@pytest.mark.parametrize("name", ["nsga2", "pymoo-nsga2"])
def test_nsga2_improves_on_zdt1(name: str) -> None:
    space = parse_space(problem_space("zdt1", n_var=5))
    problem = PymooProblem("zdt1", n_var=5)
    optimizer = make_optimizer(name, space, population_size=20, seed=1)
    best_f2_by_generation = []
    for _ in range(15):
        generation = optimizer.generation
        batch = [
            Trial(i, generation, p, "complete", problem.evaluate(p))
            for i, p in enumerate(optimizer.ask())
        ]
        optimizer.tell(batch)
        best_f2_by_generation.append(min(t.metrics["f1"] + t.metrics["f2"] for t in batch))
    assert best_f2_by_generation[-1] < 0.6 * best_f2_by_generation[0]


def test_unknown_optimizer_is_a_clear_error() -> None:
    with pytest.raises(SearchError, match="unknown optimizer 'cmaes'; choose one of"):
        make_optimizer("cmaes", MIXED, population_size=4, seed=0)


def test_a_taken_optimizer_name_is_refused() -> None:
    default = OPTIMIZERS["nsga2"]
    with pytest.raises(ValueError, match="optimizer 'nsga2' registered twice"):
        register("nsga2")(OPTIMIZERS["random"])
    assert OPTIMIZERS["nsga2"] is default


@pytest.mark.parametrize("name", ["gp", "tpe"])
def test_a_model_hands_a_long_history_to_nsga2_which_picks_parents_from_all_of_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OPTIMIZERS[name], "max_history", 16)
    if name == "gp":
        monkeypatch.setattr(OPTIMIZERS["gp"], "startup_trials", 16)  # no GP fit needed here
    optimizer = make_optimizer(name, MIXED, population_size=8, seed=0)
    history = drive_optimizer(optimizer, 2)
    optimizer.ask()  # the hand-over: NSGA-II's first generation
    study = optimizer._study
    assert isinstance(study.sampler, optuna.samplers.NSGAIISampler)
    assert len(study.get_trials(states=[TrialState.COMPLETE])) == len(history)
    parents = {t.number for t in study.sampler.select_parent(study, 1)}
    best = {t.number for t in study.best_trials}  # the history's non-dominated designs
    assert 0 < len(best) <= 8, "the check needs a first front smaller than the population"
    assert best <= parents and len(parents) == 8


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize(
    ("name", "sampler"),
    [("nsga2", optuna.samplers.NSGAIISampler), ("nsga3", optuna.samplers.NSGAIIISampler)],
)
def test_genetic_samplers_ask_what_optuna_itself_asks(name: str, sampler: type) -> None:
    """The engine's NSGA-II and NSGA-III look the generation, parents and search space up once
    per generation instead of on every ask: the designs must be Optuna's own, failures and
    constraints included (they change how Optuna counts generations)."""

    class Plain(OPTIMIZERS[name]):  # type: ignore[misc, valid-type]
        def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
            return sampler(population_size=self.population_size, seed=seed)

    def run(optimizer: Optimizer) -> list[dict[str, Any]]:
        asked: list[dict[str, Any]] = []
        for _ in range(12):
            generation = optimizer.generation
            designs = optimizer.ask()
            batch = [
                Trial(len(asked) + i, generation, p, "complete", evaluate(p))
                if p["gain"] != 0.75
                else Trial(len(asked) + i, generation, p, "failed", {}, error="x")
                for i, p in enumerate(designs)
            ]
            optimizer.tell(batch)
            asked += designs
        return asked

    ours = make_optimizer(name, MIXED, population_size=6, seed=3)
    optuna_own = Plain(MIXED, population_size=6, seed=3)
    assert run(ours) == run(optuna_own)
