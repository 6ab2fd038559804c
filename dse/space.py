"""Search spaces: the declarative YAML a user edits, validated before any work starts.

A space names the evaluator (``module:attribute`` plus options), the objectives with their
directions and optional normalisation bounds, optional constraints on metrics, and the
parameters with their domains. Validation happens at the YAML boundary with pydantic so that a
broken file fails with one line naming the file, the key and the problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dse.errors import SpaceError

Scalar = str | int | float | bool
_TAGS = ("int", "float", "categorical")  # discriminator tags pydantic adds to error locations
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntParam(_Strict):
    """An integer in ``[low, high]`` on a grid of ``step``; ``log`` samples it log-uniformly."""

    type: Literal["int"]
    low: int
    high: int
    step: int = Field(1, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> IntParam:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError("log: true needs step 1")
        if (self.high - self.low) % self.step:
            raise ValueError(f"high - low ({self.high - self.low}) is not a multiple of step")
        return self

    def values(self) -> list[int]:
        """Every admissible value, in order (for grid encodings)."""
        return list(range(self.low, self.high + 1, self.step))

    def parse(self, text: str) -> int:
        return int(float(text))

    def outside(self, value: Any) -> str | None:
        """Why ``value`` is not in the domain, or None when it is."""
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer in [{self.low}, {self.high}]"
        if not self.low <= value <= self.high:
            return f"outside [{self.low}, {self.high}]"
        if (value - self.low) % self.step:
            return f"not on the grid {self.low}, {self.low + self.step}, ... (step {self.step})"
        return None


class FloatParam(_Strict):
    """A real in ``[low, high]``, optionally on a grid of ``step`` or log-uniform."""

    type: Literal["float"]
    low: float
    high: float
    step: float | None = Field(None, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> FloatParam:
        _check_range(self.low, self.high, self.log)
        if self.step is not None:
            if self.log:
                raise ValueError("log: true cannot take a step")
            n = (self.high - self.low) / self.step
            if abs(n - round(n)) > 1e-9 * max(1.0, n):
                raise ValueError(f"high - low ({self.high - self.low}) is not a multiple of step")
        return self

    def parse(self, text: str) -> float:
        return float(text)

    def outside(self, value: Any) -> str | None:
        """Why ``value`` is not in the domain, or None when it is."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a number in [{self.low}, {self.high}]"
        if not self.low <= value <= self.high:
            return f"outside [{self.low}, {self.high}]"
        if self.step is not None:
            n = (value - self.low) / self.step
            if abs(n - round(n)) > 1e-9 * max(1.0, n):
                return f"not on the grid {self.low}, {self.low + self.step}, ... (step {self.step})"
        return None


class CategoricalParam(_Strict):
    """One of a list of choices (strings, numbers or booleans)."""

    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> CategoricalParam:
        keys = [repr(c) for c in self.choices]
        if len(set(keys)) != len(keys):
            raise ValueError(f"choices repeat a value: {self.choices}")
        return self

    def parse(self, text: str) -> Scalar:
        for choice in self.choices:
            if str(choice) == text:
                return choice
        raise ValueError(f"{text!r} is not one of {self.choices}")

    def outside(self, value: Any) -> str | None:
        """Why ``value`` is not in the domain, or None when it is."""
        if any(type(value) is type(c) and value == c for c in self.choices):
            return None
        return f"not one of {self.choices}"


ParamSpec = Annotated[IntParam | FloatParam | CategoricalParam, Field(discriminator="type")]


def _check_range(low: float, high: float, log: bool) -> None:
    if low > high:
        raise ValueError(f"low ({low}) > high ({high})")
    if log and low <= 0:
        raise ValueError(f"log: true needs low > 0, got {low}")


class Objective(_Strict):
    """A metric to optimise.

    ``bounds`` fix the normalisation used by the hypervolume before the search starts, the
    same for every optimizer and seed; ``scale: log`` normalises quantities spanning decades
    (energy, throughput) on a log axis.
    """

    name: str = Field(min_length=1)
    direction: Literal["minimize", "maximize"]
    bounds: tuple[float, float] | None = None
    scale: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _check(self) -> Objective:
        if self.bounds is not None:
            low, high = self.bounds
            if not low < high:
                raise ValueError(f"bounds need low < high, got {list(self.bounds)}")
            if self.scale == "log" and low <= 0:
                raise ValueError(f"scale: log needs bounds > 0, got {list(self.bounds)}")
        return self

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"


class Constraint(_Strict):
    """A metric that must stay within ``[min, max]``; a design outside is infeasible."""

    metric: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Constraint:
        if self.min is None and self.max is None:
            raise ValueError("a constraint needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) > max ({self.max})")
        return self

    def violation(self, value: float) -> float:
        """Distance outside the allowed interval (<= 0 means satisfied), in the metric's unit."""
        below = self.min - value if self.min is not None else -math.inf
        above = value - self.max if self.max is not None else -math.inf
        return max(below, above)


class EvaluatorSpec(_Strict):
    """Which evaluator runs the designs: an importable ``module:attribute`` and its options."""

    target: str
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> EvaluatorSpec:
        if not _TARGET.match(self.target):
            raise ValueError(
                f"target must look like 'package.module:Attribute', got {self.target!r}"
            )
        return self


class SearchDefaults(_Strict):
    """Defaults for ``dse search`` that a space may carry; command-line flags override them.

    ``timeout_s`` bounds one evaluation: a design still running after it fails with that reason
    and its worker is replaced, so one hung evaluation cannot stall the search.
    """

    budget: int | None = Field(None, gt=0)
    population: int | None = Field(None, ge=2)
    optimizer: str | None = None
    seed: int | None = None
    workers: int | None = Field(None, ge=0)  # 0: in the driver's process, without Ray
    timeout_s: float | None = Field(None, gt=0)


class FidelityLevel(_Strict):
    """One level of a multi-fidelity search: evaluator option overrides that define it, and how
    much of a generation reaches it (``promote``, a fraction, or ``count`` designs).

    The first level scores every design, so it takes neither; each later level takes exactly
    one, and never more designs than the level before it scored.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
    options: dict[str, Any] = Field(default_factory=dict)
    promote: float | None = Field(None, gt=0, le=1)
    count: int | None = Field(None, ge=1)

    def size(self, generation: int, previous: int) -> int:
        """Designs this level scores of a generation of ``generation`` designs, of which the
        level below scored ``previous``."""
        wanted = (
            self.count
            if self.count is not None
            else math.ceil((self.promote or 1.0) * generation - 1e-9)
        )
        return min(previous, max(1, wanted))


class VerifySettings(_Strict):
    """How ``dse verify`` re-evaluates the front: evaluator option overrides (full fidelity)."""

    options: dict[str, Any] = Field(default_factory=dict)


class SearchSpace(_Strict):
    """A validated search space (see ``search_spaces/README.md`` for the file format)."""

    name: str = Field(min_length=1)
    description: str = ""
    evaluator: EvaluatorSpec
    objectives: list[Objective] = Field(min_length=1)
    constraints: list[Constraint] = Field(default_factory=list)
    params: dict[str, ParamSpec] = Field(min_length=1)
    search: SearchDefaults = SearchDefaults()
    verify: VerifySettings = VerifySettings()
    fidelities: list[FidelityLevel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SearchSpace:
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise ValueError(f"objective names repeat: {names}")
        _check_levels(self.fidelities)
        return self

    @property
    def levels(self) -> list[str | None]:
        """The fidelity levels' names, cheapest first; ``[None]`` for a single-fidelity search."""
        return [level.name for level in self.fidelities] or [None]

    def level_options(self, level: str | None) -> dict[str, Any]:
        """The evaluator options of ``level``: the evaluator's, then the level's overrides."""
        overrides = next((f.options for f in self.fidelities if f.name == level), {})
        return {**self.evaluator.options, **overrides}

    def verify_options(self) -> dict[str, Any]:
        """What ``dse verify`` evaluates with: the highest level's options, then ``verify``'s."""
        return {**self.level_options(self.levels[-1]), **self.verify.options}

    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.objectives]

    def required_metrics(self) -> list[str]:
        """Metrics every evaluation must return: the objectives, then the constraint metrics."""
        names = self.objective_names
        return names + [c.metric for c in self.constraints if c.metric not in names]

    def check_metrics(self, metrics: Mapping[str, float]) -> str | None:
        """Why an evaluator's result cannot be used, or None when it can."""
        for name in self.required_metrics():
            if name not in metrics:
                return f"metric {name!r} missing from the evaluator's result"
            if not math.isfinite(metrics[name]):
                return f"metric {name!r} is {metrics[name]}"
        return None

    def objective_values(self, metrics: Mapping[str, float]) -> list[float]:
        return [float(metrics[objective.name]) for objective in self.objectives]

    def violations(self, metrics: Mapping[str, float]) -> list[float]:
        """One value per constraint; every value <= 0 means the design is feasible."""
        return [c.violation(float(metrics[c.metric])) for c in self.constraints]

    def domains(self) -> dict[str, dict[str, Any]]:
        """The params section as plain data: what ``prepare`` receives (see dse.evaluator)."""
        return {name: spec.model_dump(mode="json") for name, spec in self.params.items()}

    def parse_params(self, texts: Mapping[str, str]) -> dict[str, Scalar]:
        """Typed params back from their string form (as MLflow stores them)."""
        return {name: self.params[name].parse(texts[name]) for name in self.params}


def _check_levels(levels: list[FidelityLevel]) -> None:
    """A multi-fidelity search needs two levels or more, the first scoring every design."""
    if not levels:
        return
    if len(levels) == 1:
        raise ValueError(f"fidelities: a single level ({levels[0].name!r}); give two or more")
    names = [level.name for level in levels]
    if len(set(names)) != len(names):
        raise ValueError(f"fidelities: level names repeat: {names}")
    first = levels[0]
    if first.promote is not None or first.count is not None:
        raise ValueError(
            f"fidelities.0 ({first.name}): the first level scores every design: "
            "remove promote and count"
        )
    for index, level in enumerate(levels[1:], start=1):
        if (level.promote is None) == (level.count is None):
            raise ValueError(
                f"fidelities.{index} ({level.name}): "
                "give exactly one of promote (a fraction) or count"
            )


def _format_error(source: str, error: ValidationError, data: Mapping[str, Any]) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"] if part not in _TAGS)
    level = _level_name(data, first["loc"])
    if level:
        location = location.replace(
            f"fidelities.{first['loc'][1]}", f"fidelities.{first['loc'][1]} ({level})", 1
        )
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "union_tag_invalid":
        message = f"unknown type {first['input']['type']!r}; expected one of {', '.join(_TAGS)}"
    where = f"{location}: " if location else ""
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{source}: {where}{message}{more}"


def _level_name(data: Mapping[str, Any], loc: tuple[Any, ...]) -> str | None:
    """The name of the fidelity level an error location points into, when it has one."""
    if len(loc) < 2 or loc[0] != "fidelities" or not isinstance(loc[1], int):
        return None
    levels = data.get("fidelities")
    level = levels[loc[1]] if isinstance(levels, list) and loc[1] < len(levels) else None
    return str(level["name"]) if isinstance(level, Mapping) and "name" in level else None


class _Domains(_Strict):
    domains: dict[str, ParamSpec]


def parse_domains(data: Any, source: str) -> dict[str, ParamSpec]:
    """Validate a ``params`` section on its own: the ``domains`` a design file carries."""
    try:
        return _Domains.model_validate({"domains": data}).domains
    except ValidationError as error:
        raise SpaceError(_format_error(source, error, {})) from None


def parse_space(data: Any, source: str = "<space>") -> SearchSpace:
    """Validate an already-parsed YAML document."""
    if not isinstance(data, Mapping):
        raise SpaceError(f"{source}: expected a mapping at the top level")
    try:
        return SearchSpace.model_validate(data)
    except ValidationError as error:
        raise SpaceError(_format_error(source, error, data)) from None


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file, turning I/O and syntax errors into one-line errors naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SpaceError(f"{path}: cannot read: {error.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpaceError(f"{path}: {line}malformed YAML: {problem}") from None


def load_space(path: str | Path) -> SearchSpace:
    """Load and validate a search-space file."""
    return parse_space(read_yaml(path), str(path))


def dump_space(space: SearchSpace) -> str:
    """The space as YAML, as stored beside a search (``space.yaml``)."""
    data = space.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False)
