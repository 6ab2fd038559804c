"""The search loop: ask a generation, score it on Ray (level by level), record it, tell it.

Order of writes for every result: the ledger first, the moment it finishes (durable at once);
MLflow at the end of its generation, one child run per design with every level it reached (in
the background). A resume replays the ledger through the optimizer, generation by generation,
checking that the replayed designs are the recorded ones, evaluates only what the ledger lacks
(results interrupted by the kill, then new generations), and logs to MLflow what it had not
received. How a generation is scored is :mod:`dse.generation`; what the optimizer is told of it
is :func:`dse.promotion.told`.

A search that cannot do what was asked stops with one line after its first generation rather
than at its budget: when every design of it failed, or when an objective or constraint metric is
missing from every result the evaluator returned.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dse.agreement import level_agreement
from dse.artifacts import write_search_artifacts
from dse.backends import make_runner
from dse.errors import DseError, SearchError
from dse.evaluator import build_evaluator, load_target, prepare_options
from dse.generation import GenerationScorer
from dse.ledger import Ledger, SearchSettings, check_name
from dse.mlflow_client import default_tracking_uri
from dse.optimizers import OPTIMIZERS, make_optimizer
from dse.pareto import (
    at_top_level,
    hypervolume,
    normalize,
    objective_matrix,
    pareto_front,
    resolve_bounds,
)
from dse.progress import SearchProgress
from dse.promotion import optimizer_space, told
from dse.results import Level, Results
from dse.runner import Runner
from dse.space import SearchSpace, dump_space, load_space, parse_space
from dse.tracking import TRIALS_ARTIFACT, Tracker, child_run_stride, front_sample
from dse.trial import Trial
from dse.ui import experiment_tags
from dse.version import code_version

MODEL_BASED_BUDGET = 1000


def default_optimizer(budget: int) -> str:
    """``tpe`` up to ``MODEL_BASED_BUDGET`` designs, ``nsga2`` above. At 100-400 designs TPE
    leads NSGA-II on ZDT1, DTLZ2 and the CamVid space and ties it on BNH (benchmarks/RESULTS.md,
    optimizers); its ask cost grows with the history (~85 ms a design at 1 000), and a large
    budget means cheap designs, where that cost would dominate and evolution has the
    generations it needs."""
    return "tpe" if budget <= MODEL_BASED_BUDGET else "nsga2"


def default_population(budget: int) -> int:
    """A tenth of the budget, kept between 8 and 50 designs per generation."""
    return max(8, min(50, budget // 10))


@dataclass(frozen=True)
class SearchRequest:
    """What the user asked for; ``None`` falls back to the space's ``search:`` defaults."""

    name: str
    space_path: Path | None = None
    budget: int | None = None
    population: int | None = None
    optimizer: str | None = None
    seed: int | None = None
    workers: int | None = None
    timeout_s: float | None = None
    tracking_uri: str | None = None
    ray_address: str | None = None
    runs_dir: Path = Path("runs")
    resume: bool = False
    progress: bool = True
    verbose: bool = False


@dataclass
class SearchResult:
    """What a finished search hands back to its caller."""

    settings: SearchSettings
    space: SearchSpace
    trials: list[Trial]
    front: list[Trial]
    history: list[tuple[int, float, int]] = field(default_factory=list)

    @property
    def hypervolume(self) -> float:
        return self.history[-1][1] if self.history else 0.0


def _given(*values: Any) -> Any:
    """The first value that is not None (a flag over the space's default): 0 counts as given."""
    return next((v for v in values if v is not None), None)


def _check_budget(budget: int) -> None:
    if budget < 1:
        raise SearchError(f"--budget must be at least 1 design, got {budget}")


def _new_settings(request: SearchRequest, space: SearchSpace, token: str) -> SearchSettings:
    defaults = space.search
    budget = _given(request.budget, defaults.budget)
    if budget is None:
        raise SearchError("no budget: pass --budget N or set search.budget in the space")
    _check_budget(budget)
    optimizer = request.optimizer or defaults.optimizer or default_optimizer(budget)
    if optimizer not in OPTIMIZERS:
        raise SearchError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    population = _given(request.population, defaults.population, default_population(budget))
    if population < 2:
        raise SearchError(f"--population must be at least 2, got {population}")
    return SearchSettings(
        name=request.name,
        space=space.model_dump(mode="json"),
        space_path=str(request.space_path),
        optimizer=optimizer,
        seed=_given(request.seed, defaults.seed, 0),
        population=population,
        budget=budget,
        tracking_uri=request.tracking_uri or default_tracking_uri(request.runs_dir),
        code_version=code_version(),
        created_at=time.time(),
        start_token=token,
        child_run_stride=child_run_stride(budget),
    )


def _resumed_settings(request: SearchRequest, ledger: Ledger) -> tuple[SearchSettings, SearchSpace]:
    settings = ledger.read_settings()
    space = parse_space(settings.space, f"{ledger.settings_path}")
    if request.space_path is not None and load_space(request.space_path) != space:
        raise SearchError(
            f"{request.space_path} differs from the space search {request.name!r} started with; "
            "resume without changing it, or start a new search"
        )
    if request.budget is not None and request.budget != settings.budget:
        _check_budget(request.budget)
        settings = ledger.update_settings(budget=request.budget)
    if not settings.start_token:  # recorded before start tokens existed
        settings = replace(settings, start_token=uuid.uuid4().hex)
    return settings, space


class Search:
    """One search, new or resumed (see :func:`run_search`)."""

    def __init__(self, request: SearchRequest) -> None:
        self.request = request
        self.ledger = Ledger(request.runs_dir / "searches" / check_name(request.name))
        if request.resume:
            if not self.ledger.exists():
                raise SearchError(
                    f"no search named {request.name!r} under {request.runs_dir}/searches to resume"
                )
            self.settings, self.space = _resumed_settings(request, self.ledger)
        else:
            if request.space_path is None:
                raise SearchError("a new search needs a space file")
            self.space = load_space(request.space_path)
            # A search killed before MLflow held its parent run was started only in part: a new
            # start takes its name over, with its token (see dse.ledger).
            interrupted = self.ledger.read_settings() if self.ledger.exists() else None
            if interrupted is not None and interrupted.parent_run_id:
                raise SearchError(
                    f"search {request.name!r} already exists under {request.runs_dir}/searches; "
                    "continue it with --resume or choose another --name"
                )
            token = interrupted.start_token if interrupted else ""
            self.settings = _new_settings(request, self.space, token or uuid.uuid4().hex)
        _check_levels(self.space)  # an unknown evaluator or a bad level fails before any work
        self.tracker = Tracker(
            self.settings.tracking_uri, request.name, self.ledger.directory / "tracking.lock"
        )
        self.ledger.lock()
        self.results = Results(self.space.levels, self.ledger.read_trials())
        self.trials: dict[int, Trial] = self.results.designs()  # each design's combined view
        self.history: list[tuple[int, float, int]] = []
        self.logged_generations: set[int] = set()
        self.logged: set[int] = set()  # designs MLflow holds
        self.front: list[Trial] = []  # of the generations scored (or replayed) so far
        self._started = False

    # -- set-up ---------------------------------------------------------------------------

    def _start_tracking(self) -> None:
        """Create or reopen the MLflow parent run; note what MLflow already holds of it. A new
        search records its settings (with its start token) before it touches MLflow, and the
        run ids once MLflow holds them."""
        if self.settings.parent_run_id:
            held = self.tracker.reopen(
                self.settings.experiment_id or "", self.settings.parent_run_id
            )
            self.logged_generations = held.generations
            self.logged = set(held.trials)
            return
        params = {
            "space": self.settings.space_path,
            "evaluator": self.space.evaluator.target,
            "optimizer": self.settings.optimizer,
            "budget": self.settings.budget,
            "population": self.settings.population,
            "seed": self.settings.seed,
            "code_version": self.settings.code_version,
            "child_run_stride": self.settings.child_run_stride,
        }
        tags = {"mlflow.note.content": self.space.description or f"dse search of {self.space.name}"}
        self.ledger.write_settings(self.settings)
        experiment_id, parent_run_id = self.tracker.start(
            params, tags, experiment_tags(self.space), self.settings.start_token
        )
        self.tracker.log_artifact_text(dump_space(self.space), "space.yaml")
        self.settings = self.ledger.update_settings(
            experiment_id=experiment_id, parent_run_id=parent_run_id
        )

    def _runner(self) -> Runner:
        defaults = self.space.search
        return make_runner(
            self.space.evaluator.target,
            workers=_given(self.request.workers, defaults.workers, _cpu_count()),
            ray_address=self.request.ray_address,
            verbose=self.request.verbose,
            timeout_s=_given(self.request.timeout_s, defaults.timeout_s),
        )

    def _worker_options(self) -> dict[Level, dict[str, Any]]:
        """Per level, the evaluator's options plus what its ``prepare`` step gives the workers."""
        target, cache = self.space.evaluator.target, self.request.runs_dir / "cache"
        options = {}
        for level in self.space.levels:
            with _naming(level):
                level_options = self.space.level_options(level)
                options[level] = prepare_options(target, level_options, cache, self.space.domains())
        return options

    def _start(self, runner: Runner) -> Runner:
        """Prepare the evaluators and set the workers up, once (a resume with nothing left to
        evaluate never does)."""
        if not self._started:
            runner.start(self._worker_options())
            self._started = True
        return runner

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> SearchResult:
        runner = self._runner()
        try:
            if len(self.trials) < self.settings.budget:  # a finished search replays without Ray
                runner.connect()  # Ray starts while the tracker connects to MLflow
                if not self.settings.parent_run_id:  # before prepare, which may train for minutes
                    self.tracker.check_name_free(self.settings.start_token)
                self._start(runner)
            self._start_tracking()
            self._loop(runner)
        except BaseException as error:
            self._stop_tracking("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
            raise
        finally:
            runner.shutdown()
            self.ledger.close()
        return self._finish()

    def _loop(self, runner: Runner) -> None:
        settings = self.settings
        optimizer = make_optimizer(
            settings.optimizer,
            optimizer_space(self.space),
            population_size=settings.population,
            seed=settings.seed,
        )
        progress = SearchProgress(
            settings.name, settings.budget, self.space.levels, enabled=self.request.progress
        )
        scorer = GenerationScorer(
            self.space, self.results, lambda: self._start(runner), self._record, progress.level
        )
        first = 0
        with progress:
            while first < settings.budget:
                generation = optimizer.generation
                designs = optimizer.ask()[: settings.budget - first]
                if not designs:
                    break
                numbers = list(range(first, first + len(designs)))
                self._check_replay(numbers, designs)
                progress.update(generation=generation)
                scorer.score(generation, numbers, designs)
                optimizer.tell(told(numbers, self.results, self.space))
                self._after_generation(generation, numbers, progress)
                if generation == 0:
                    self._check_first_generation(numbers)
                first += len(designs)

    def _check_first_generation(self, numbers: Sequence[int]) -> None:
        """Stop a search that cannot do what was asked (see the module docstring), at every
        level: naming the metric the evaluator never returned, or the first design's error."""
        for level in self.space.levels:
            results = self.results.at(level, numbers)
            if not results or any(t.ok for t in results):
                continue
            where = f"fidelities ({level}): " if level else ""
            returned = sorted({name for t in results for name in t.metrics})
            for name in self.space.required_metrics() if returned else []:
                if all(name not in t.metrics for t in results):
                    kind = "objective" if name in self.space.objective_names else "constraint"
                    raise SearchError(
                        f"{where}{kind} {name!r} is in no result of the first generation "
                        f"(the evaluator returns {', '.join(returned)}); fix the space's "
                        "objectives or the evaluator and start a new search"
                    )
            raise SearchError(
                f"{where}all {len(results)} designs of the first generation failed, "
                f"trial {results[0].number} with {results[0].error}; fix the evaluator and "
                "start a new search"
            )

    def _check_replay(self, numbers: Sequence[int], designs: Sequence[dict[str, Any]]) -> None:
        """A resumed search's optimizer must ask for the designs the ledger recorded."""
        first = self.space.levels[0]
        for number, params in zip(numbers, designs, strict=True):
            recorded = self.results.get(number, first)
            if recorded is not None and recorded.params != params:
                raise SearchError(
                    f"the ledger of {self.settings.name!r} disagrees with the optimizer's replay "
                    f"at trial {number}: were the space, seed or optimizer changed?"
                )

    def _record(self, trial: Trial) -> None:
        """A finished (design, level) result: into the ledger at once, then into memory."""
        self.ledger.append(trial)
        self.results.add(trial)

    def _after_generation(
        self, generation: int, numbers: Sequence[int], progress: SearchProgress
    ) -> None:
        """Log the generation's designs, fix the bounds once designs work, then log the
        hypervolume, the front size and, with several levels, what each scored and how well
        adjacent levels agreed."""
        for number in numbers:
            self.trials[number] = self.results.design(number)
            if number % self.settings.child_run_stride == 0:
                self._log_trial(self.trials[number])
        trials = list(self.trials.values())
        if self.settings.bounds is None:
            self._fix_bounds(trials)
        # The front of every design so far is the front of the last one and this generation.
        front = self.front = pareto_front(
            [*self.front, *(self.trials[n] for n in numbers)], self.space
        )
        volume = self._hypervolume(front)
        self.history.append((generation, volume, len(front)))
        if generation not in self.logged_generations:
            metrics = {"hypervolume": volume, "front_size": len(front)}
            if self.space.fidelities:
                metrics.update(self._level_metrics(numbers))
            self.tracker.log_generation(generation, metrics)
        progress.generation_done(
            generation,
            completed=len(self.trials),
            failed=sum(not t.ok for t in trials),
            front=len(front),
            hv=volume,
        )

    def _log_trial(self, trial: Trial) -> None:
        if trial.number not in self.logged:
            self.tracker.log_trial(trial)
            self.logged.add(trial.number)

    def _fix_bounds(self, trials: Sequence[Trial]) -> None:
        """The hypervolume's bounds, from the first working designs (kept for the search)."""
        working = [t for t in at_top_level(trials, self.space) if t.ok]
        if working:
            bounds = resolve_bounds(self.space.objectives, objective_matrix(working, self.space))
            self.settings = self.ledger.update_settings(bounds=bounds)
            self.tracker.set_tags({"dse.bounds": json.dumps([list(b) for b in bounds])})

    def _level_metrics(self, numbers: Sequence[int]) -> dict[str, float]:
        """Per level, the designs of the generation it scored (``scored/<level>``) and of those
        how many took over an identical design's result (``reused/<level>``); the rank
        agreement of adjacent levels on the designs promoted (``tau/<lower>-<upper>/<name>``)."""
        metrics: dict[str, float] = {}
        for level in self.space.levels:
            results = self.results.at(level, numbers)
            metrics[f"scored/{level}"] = len(results)
            metrics[f"reused/{level}"] = sum(t.reused is not None for t in results)
        return {**metrics, **level_agreement(self.results, self.space, numbers)}

    def _hypervolume(self, front: Sequence[Trial]) -> float:
        if not front or self.settings.bounds is None:
            return 0.0
        values = objective_matrix(front, self.space)
        return hypervolume(normalize(values, self.space.objectives, self.settings.bounds))

    # -- the end --------------------------------------------------------------------------

    def _finish(self) -> SearchResult:
        trials = sorted(self.trials.values(), key=lambda t: t.number)
        front = pareto_front(trials, self.space)
        if self.space.fidelities and self.history:
            total = level_agreement(self.results, self.space, self.trials, prefix="tau_total")
            self.tracker.log_generation(self.history[-1][0], total)
        for trial in front_sample(front):  # a sampled search's front gets its child runs too
            self._log_trial(trial)
        with tempfile.TemporaryDirectory(prefix="dse-artifacts-") as directory:
            write_search_artifacts(
                Path(directory), self.space, trials, front, self.history, self.settings.bounds or []
            )
            if self.settings.child_run_stride > 1:  # what dse front and export read
                lines = (json.dumps(t.to_json()) + "\n" for t in trials)
                (Path(directory) / TRIALS_ARTIFACT).write_text("".join(lines))
            self.tracker.set_tags(
                {"mlflow.note.content": _describe_front(self.space, trials, front)}
            )
            self.tracker.finish(
                [t.number for t in front if t.number in self.logged], Path(directory)
            )
        self.tracker.close()
        return SearchResult(self.settings, self.space, trials, front, self.history)

    def _stop_tracking(self, status: str) -> None:
        if not self.tracker.parent_run_id:
            return
        try:
            self.tracker.abort(status)
        finally:
            self.tracker.close()


def _describe_front(space: SearchSpace, trials: Sequence[Trial], front: Sequence[Trial]) -> str:
    """The parent run's description: a short markdown summary of the front."""
    failed = sum(not t.ok for t in trials)
    lines = [
        f"**{space.name}**: {len(trials)} designs ({failed} failed), "
        f"{len(front)} on the Pareto front.",
        "",
        "| trial | " + " | ".join(space.objective_names) + " |",
        "|---|" + "---|" * len(space.objectives),
    ]
    for trial in front[:20]:
        values = " | ".join(f"{v:.4g}" for v in space.objective_values(trial.metrics))
        lines.append(f"| {trial.number} | {values} |")
    if len(front) > 20:
        lines.append(f"| ... | {len(front) - 20} more in front.csv |")
    return "\n".join(lines)


def _check_levels(space: SearchSpace) -> None:
    """Build the evaluator of every fidelity level once, so an unknown evaluator, an unknown
    option or a bad value fails before any work, naming the level."""
    target = space.evaluator.target
    load_target(target)
    for level in space.levels:
        with _naming(level):
            build_evaluator(target, space.level_options(level))


@contextmanager
def _naming(level: Level) -> Iterator[None]:
    """Prefix errors of a fidelity level's evaluator with the level."""
    try:
        yield
    except DseError as error:
        if level is None:
            raise
        raise type(error)(f"fidelities ({level}): {error}") from None


def _cpu_count() -> int:
    return max(1, os.cpu_count() or 1)


def run_search(request: SearchRequest) -> SearchResult:
    """Run (or resume) a search to its budget and return its trials and front."""
    return Search(request).run()
