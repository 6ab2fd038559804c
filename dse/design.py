"""Design files: one chosen design, what ``dse export`` writes and ``dse evaluate`` reads.

A design file holds ``evaluator`` (target and options, as in the space) and ``params``; once a
design has been evaluated it also holds ``metrics`` and ``provenance`` (search, trial, MLflow
run, code version), so an exported design can always be traced back and re-run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dse.errors import DseError, EvaluatorError, SpaceError, StoreError
from dse.evaluator import build_evaluator, clean_metrics, local_worker
from dse.pareto import knee_index, normalize, objective_matrix, pareto_front
from dse.space import EvaluatorSpec, ParamSpec, parse_domains, read_yaml
from dse.store import StoredSearch
from dse.trial import Trial


class DesignFile(BaseModel):
    """The contents of a ``design.yaml``."""

    model_config = ConfigDict(extra="forbid")

    evaluator: EvaluatorSpec
    params: dict[str, Any] = Field(min_length=1)
    metrics: dict[str, float] = Field(default_factory=dict)
    domains: dict[str, Any] | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)

    def prepare_domains(self) -> dict[str, Any]:
        """The domains ``prepare`` covers: the search's space when known, else just this design
        (each param a single choice)."""
        if self.domains is not None:
            return self.domains
        return {k: {"type": "categorical", "choices": [v]} for k, v in self.params.items()}


def read_design(path: Path) -> DesignFile:
    """Read a design file; its params must lie in the ``domains`` it carries, if any."""
    data = read_yaml(path)
    try:
        design = DesignFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SpaceError(f"{path}: {where}: {first['msg']}") from None
    if design.domains is not None:
        _check_params(design.params, parse_domains(design.domains, str(path)), path)
    return design


def _check_params(params: Mapping[str, Any], domains: Mapping[str, ParamSpec], path: Path) -> None:
    extra = sorted(params.keys() - domains.keys())
    if extra:
        raise SpaceError(f"{path}: params.{extra[0]}: not a param of the design's domains")
    for name, spec in domains.items():
        if name not in params:
            raise SpaceError(f"{path}: params.{name}: missing (the design's domains have it)")
        problem = spec.outside(params[name])
        if problem:
            raise SpaceError(f"{path}: params.{name}={params[name]!r}: {problem}")


def write_design(path: Path, design: DesignFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(design.model_dump(mode="json"), sort_keys=False))


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs (values read as YAML scalars) that override evaluator options."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SpaceError(f"--option {pair!r}: expected key=value")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def evaluate_design(
    design: DesignFile, overrides: Mapping[str, Any], cache_dir: Path
) -> dict[str, float]:
    """Evaluate one design in this process (prepare, setup, evaluate), as a worker would."""
    target = design.evaluator.target
    options = {**design.evaluator.options, **overrides}
    driver = build_evaluator(target, options)
    evaluator = local_worker(driver, target, options, cache_dir, design.prepare_domains())
    try:
        return clean_metrics(evaluator.evaluate(dict(design.params)))
    except Exception as error:
        raise EvaluatorError(f"evaluator {target!r} failed on this design: {error}") from error


def pick_trial(stored: StoredSearch, trial: int | None, pick: str | None) -> Trial:
    """The trial a user chose: by number, or ``knee``, ``max-<metric>``, ``min-<metric>`` of the
    front. Once ``dse verify`` has run, the pick is made among the verified designs by their
    verified scores (:func:`pick_pool`)."""
    if trial is not None:
        chosen = stored.trial(trial)
        if not chosen.ok:
            raise StoreError(f"trial {trial} of {stored.name!r} failed: {chosen.error}")
        return chosen
    pick = pick or ""
    direction, _, metric = pick.partition("-")
    if pick != "knee" and (direction not in ("max", "min") or not metric):
        raise StoreError(f"--pick {pick!r}: use knee, max-<metric> or min-<metric>")
    pool, basis = pick_pool(stored, pick)
    front = pareto_front(pool, stored.space)
    if not front:
        raise StoreError(f"search {stored.name!r}: no design is feasible by the {basis}")
    if pick == "knee":
        bounds = _bounds(stored, front)
        values = normalize(objective_matrix(front, stored.space), stored.space.objectives, bounds)
        return stored.trial(front[knee_index(values)].number)
    if any(metric not in t.metrics for t in front):
        raise StoreError(f"--pick {pick!r}: metric {metric!r} is not recorded for every design")
    scores = [t.metrics[metric] for t in front]
    best = front[int(np.argmax(scores) if direction == "max" else np.argmin(scores))]
    return stored.trial(best.number)


def pick_pool(stored: StoredSearch, pick: str) -> tuple[list[Trial], str]:
    """The designs ``--pick pick`` chooses from, and the basis of the choice in words: the
    verified ones with their verified scores once the search was verified (a search score is a
    proxy, and mixing both scales would compare unlike things), else every design with its search
    scores. A ``<level>/<metric>`` name asks for one search level's score: the search's designs.
    """
    if stored.verified and "/" not in pick.partition("-")[2]:
        return list(stored.verified.values()), f"verified scores of {len(stored.verified)} designs"
    return stored.trials, f"search scores of {len(stored.trials)} designs"


def _bounds(stored: StoredSearch, front: list[Trial]) -> list[tuple[float, float]]:
    recorded = stored.tags.get("dse.bounds")
    if recorded:
        return [(float(low), float(high)) for low, high in json.loads(recorded)]
    values = objective_matrix(front, stored.space)
    return [
        (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
        for lo, hi in zip(values.min(0), values.max(0), strict=True)
    ]


def export_options(stored: StoredSearch, trial: Trial) -> dict[str, Any]:
    """The options of the highest fidelity ``trial`` reached: ``dse verify``'s when it was
    verified (its re-evaluation, whose trained weights the evaluator may have cached), else
    those of the highest level it was scored at in the search."""
    if trial.number in stored.verified:
        return stored.space.verify_options()
    return stored.space.level_options(trial.fidelity)


def export_design(
    stored: StoredSearch,
    trial: Trial,
    out_dir: Path,
    overrides: Mapping[str, Any],
    cache_dir: Path,
    code_version: str,
) -> list[Path]:
    """Write ``design.yaml`` and let the evaluator's ``export`` hook add its own files, into a
    new or empty ``out_dir`` (never over a file or earlier files).

    The design is exported with the evaluator options of the highest fidelity it reached
    (:func:`export_options`), so its files carry that fidelity's weights and scores.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise DseError(f"--out {out_dir}: a file, not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise DseError(f"--out {out_dir}: not empty; export into a new or empty directory")
    space = stored.space
    spec = space.evaluator.model_copy(update={"options": export_options(stored, trial)})
    options = {**spec.options, **overrides}
    driver = build_evaluator(spec.target, options)  # one that is not allowed writes nothing
    out_dir.mkdir(parents=True, exist_ok=True)
    design = DesignFile(
        evaluator=spec,
        params=trial.params,
        metrics=stored.verified.get(trial.number, trial).metrics,
        domains=space.domains(),
        provenance={
            "search": stored.name,
            "trial": trial.number,
            "generation": trial.generation,
            "fidelity": trial.fidelity,
            "weights": "verify" if trial.number in stored.verified else "search",
            "mlflow_run_id": stored.run_ids.get(trial.number),
            "mlflow_parent_run_id": stored.parent_run_id,
            "tracking_uri": stored.tracking_uri,
            "code_version": code_version,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )
    write_design(out_dir / "design.yaml", design)
    if getattr(driver, "export", None) is not None:
        domains = design.prepare_domains()
        evaluator = local_worker(driver, spec.target, options, cache_dir, domains)
        try:
            evaluator.export(dict(trial.params), out_dir)  # type: ignore[attr-defined]
        except Exception as error:
            raise EvaluatorError(f"evaluator {spec.target!r}: export failed: {error}") from error
    return sorted(p for p in out_dir.iterdir() if p.is_file())
