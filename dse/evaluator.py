"""The evaluator protocol and how the engine finds an evaluator from its ``module:attribute``.

The engine never imports a domain package itself: the space names the evaluator, and any
importable callable that builds an object with ``evaluate(params) -> metrics`` will do. This is
what lets the same engine run photonic segmentation designs and pymoo test problems.

A target is code that runs, named by a file (a space, a design file, a search's ``space.yaml`` in
a shared store) that may come from someone else, so only allowed targets are imported
(:func:`load_target`): the evaluator classes of this project's packages (``dse``, ``evaluators``),
targets that installed packages register under the entry-point group ``dse.evaluators``, and
targets the user names in ``DSE_ALLOWED_TARGETS`` (or ``--allow-target``), comma-separated, each
``module:attribute`` or ``module:*`` (every attribute of the module). Anything else fails before
its module is imported, so a received file cannot name ``os:system``.
"""

from __future__ import annotations

import functools
import importlib
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from dse.errors import EvaluatorError


@runtime_checkable
class Evaluator(Protocol):
    """What the engine calls. Only ``evaluate`` is required.

    Optional methods, called when present:

    - ``prepare(cache_dir: Path, domains: dict) -> dict``: once per search, on the driver,
      before any worker starts; heavy one-time work cached on disk (a trained supernet that
      covers the space). ``domains`` is the space's ``params`` section as plain data
      (``{name: {"type": ..., "low": ..., "high": ..., "step": ..., "log": ..., "choices": ...}}``)
      so that work can cover exactly the space. ``cache_dir`` is absolute: workers of a cluster
      started apart do not share the driver's working directory. The returned options are
      merged into the options every worker's evaluator is built with.
    - ``setup() -> None``: once per worker: load data and weights, kept for every design.
    - ``export(params: dict, out_dir: Path) -> None``: writes a chosen design's domain
      artefacts (a runnable model, a hardware report) during ``dse export``.
    """

    def evaluate(self, params: dict[str, Any]) -> Mapping[str, float]: ...


TRUSTED_PACKAGES = ("dse", "evaluators")  # their evaluator classes are always allowed
ENTRY_POINT_GROUP = "dse.evaluators"
ALLOW_ENV = "DSE_ALLOWED_TARGETS"


def allow_targets(targets: Iterable[str]) -> None:
    """Allow ``targets`` for this process and the workers it starts (which inherit the
    environment): what ``--allow-target`` does."""
    allowed = [*os.environ.get(ALLOW_ENV, "").split(","), *targets]
    os.environ[ALLOW_ENV] = ",".join(t.strip() for t in allowed if t.strip())


@functools.cache
def _registered_targets() -> frozenset[str]:
    """Targets that installed packages register as entry points (read once per process)."""
    from importlib.metadata import entry_points

    return frozenset(
        entry.value.replace(" ", "") for entry in entry_points(group=ENTRY_POINT_GROUP)
    )


def _trusted(module_name: str) -> bool:
    return any(module_name == p or module_name.startswith(f"{p}.") for p in TRUSTED_PACKAGES)


def _allowed(target: str) -> bool:
    """Whether the user or an installed package allows ``target`` (see the module docstring)."""
    module_name = target.partition(":")[0]
    names = {t.strip() for t in os.environ.get(ALLOW_ENV, "").split(",")}
    return bool({target, f"{module_name}:*"} & names) or target in _registered_targets()


def load_target(target: str) -> Any:
    """Import ``package.module:Attribute`` (attribute paths may be dotted) when it is allowed
    (see the module docstring); a target of a trusted package must name an evaluator class."""
    module_name, _, attribute = target.partition(":")
    trusted = _trusted(module_name)
    if not trusted and not _allowed(target):
        raise EvaluatorError(
            f"evaluator {target!r} is not allowed: a file can name only the evaluators of "
            f"{' and '.join(TRUSTED_PACKAGES)}, entry points {ENTRY_POINT_GROUP!r} and targets "
            f"you allow (--allow-target {target} or {ALLOW_ENV}) when you trust the file"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise EvaluatorError(
            f"evaluator {target!r}: cannot import {module_name!r}: {error}"
        ) from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise EvaluatorError(f"evaluator {target!r}: {module_name!r} has no attribute {part!r}")
        obj = getattr(obj, part)
    if trusted and not (isinstance(obj, type) and callable(getattr(obj, "evaluate", None))):
        raise EvaluatorError(f"evaluator {target!r} is not an evaluator class (with evaluate)")
    return obj


def build_evaluator(target: str, options: Mapping[str, Any]) -> Evaluator:
    """Build the evaluator named by ``target`` with ``options`` as keyword arguments."""
    factory = load_target(target)
    if not callable(factory):
        raise EvaluatorError(f"evaluator {target!r} is not a class or a function")
    try:
        evaluator = factory(**options)
    except TypeError as error:
        raise EvaluatorError(f"evaluator {target!r}: bad options: {error}") from None
    except Exception as error:
        raise EvaluatorError(
            f"evaluator {target!r} failed to build: {describe_error(error)}"
        ) from None
    if not callable(getattr(evaluator, "evaluate", None)):
        raise EvaluatorError(f"evaluator {target!r} has no evaluate(params) method")
    return evaluator


def prepare_options(
    target: str, options: Mapping[str, Any], cache_dir: Path, domains: Mapping[str, Any]
) -> dict[str, Any]:
    """Run the evaluator's optional ``prepare`` step; return the options workers are built with."""
    return run_prepare(build_evaluator(target, options), target, options, cache_dir, domains)


def run_prepare(
    evaluator: Evaluator,
    target: str,
    options: Mapping[str, Any],
    cache_dir: Path,
    domains: Mapping[str, Any],
) -> dict[str, Any]:
    """:func:`prepare_options` with the driver's evaluator already built from ``options``."""
    prepare = getattr(evaluator, "prepare", None)
    if prepare is None:
        return dict(options)
    cache_dir = cache_dir.resolve()  # paths it returns reach workers with another cwd
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        extra = prepare(cache_dir, dict(domains)) or {}
    except Exception as error:
        raise EvaluatorError(
            f"evaluator {target!r}: prepare failed: {describe_error(error)}"
        ) from None
    return {**options, **extra}


def setup_evaluator(target: str, options: Mapping[str, Any]) -> Evaluator:
    """Build an evaluator and run its optional ``setup`` (what every worker does once)."""
    return run_setup(build_evaluator(target, options), target)


def run_setup(evaluator: Evaluator, target: str) -> Evaluator:
    """Run a built evaluator's optional ``setup``; return it."""
    setup = getattr(evaluator, "setup", None)
    if setup is not None:
        try:
            setup()
        except Exception as error:
            raise EvaluatorError(
                f"evaluator {target!r}: setup failed: {describe_error(error)}"
            ) from None
    return evaluator


def local_worker(
    evaluator: Evaluator,
    target: str,
    options: Mapping[str, Any],
    cache_dir: Path,
    domains: Mapping[str, Any],
) -> Evaluator:
    """The evaluator a worker would hold, made in this process from the driver's ``evaluator``
    (built from ``options``): prepare it, build the worker from the prepared options and set it
    up. Without a ``prepare`` step the options stay as they are, so the driver's evaluator is
    set up and serves as the worker: built once, not twice.
    """
    if getattr(evaluator, "prepare", None) is None:
        return run_setup(evaluator, target)
    prepared = run_prepare(evaluator, target, options, cache_dir, domains)
    return setup_evaluator(target, prepared)


def clean_metrics(result: Any) -> dict[str, float]:
    """The numeric metrics of an evaluation result; raise TypeError when it is not a mapping.

    Booleans and numbers become floats (NaN kept, so the space can name it); other values are
    dropped, since trackers and Pareto sorting only deal in numbers.
    """
    if not isinstance(result, Mapping):
        raise TypeError(
            f"evaluate() returned {type(result).__name__}, expected a mapping of metric names"
        )
    metrics: dict[str, float] = {}
    for name, value in result.items():
        if isinstance(value, numbers.Real):
            metrics[str(name)] = float(value)
        elif hasattr(value, "item"):  # numpy and torch scalars
            try:
                metrics[str(name)] = float(value.item())
            except (TypeError, ValueError):
                continue
    return metrics


def describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
