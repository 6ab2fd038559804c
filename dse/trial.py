"""The record of one evaluated design, shared by the ledger, the optimizers and the tracker."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trial:
        return cls(**data)
