"""The record of one evaluated design, shared by the ledger, the optimizers and the tracker."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from dse.runner import Outcome
    from dse.space import SearchSpace

Status = Literal["complete", "failed"]


@dataclass(frozen=True)
class Trial:
    """One design of a search and what its evaluation gave.

    ``number`` orders designs in the order the optimizer asked for them (not the order they
    finished), which is what makes a search reproducible with any number of workers.
    """

    number: int
    generation: int
    params: dict[str, Any]
    status: Status
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    duration_s: float = 0.0
    finished_at: float = 0.0
    fidelity: str | None = None  # the level of a multi-fidelity search this result is from
    reused: int | None = None  # the trial whose result this identical design took over

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trial:
        return cls(**data)


def finished_trial(
    outcome: Outcome, generation: int, params: dict[str, Any], space: SearchSpace
) -> Trial:
    """The trial an evaluation makes of a design, finished now: failed when the evaluation
    raised or its metrics are unusable for ``space`` (one missing or not finite), else complete.

    Search and verify judge outcomes with this one function, so a design verified at full
    fidelity fails for exactly the reasons it would have failed in the search.
    """
    error = outcome.error or space.check_metrics(outcome.metrics)
    return Trial(
        number=outcome.number,
        generation=generation,
        params=params,
        status="failed" if error else "complete",
        metrics=outcome.metrics,
        error=error,
        traceback=outcome.traceback,
        duration_s=outcome.duration_s,
        finished_at=time.time(),
    )
