"""One search-space parameter's domain, read from the plain data ``prepare`` receives.

The engine hands the space's ``params`` section over as dicts (``{"type": "int", "low": 8,
"high": 48, "step": 8, "log": False}``, ``{"type": "categorical", "choices": [...]}``); this
module turns each into a :class:`Domain` that can list, bound and sample its values. It repeats
the engine's validation in one-line errors because ``evaluators`` must not import ``dse``, and
a supernet trained over a misread domain would silently cover the wrong designs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from numbers import Real
from typing import Any, TypeGuard

from evaluators.supernet.errors import SupernetError

DOMAIN_TYPES = ("int", "float", "categorical")


@dataclass(frozen=True)
class Domain:
    """The values one parameter can take: an int or float range, or a list of choices."""

    type: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, key: str, data: Any) -> Domain:
        """A domain from its plain-data form; a malformed one fails naming ``key``."""
        if not isinstance(data, Mapping) or data.get("type") not in DOMAIN_TYPES:
            raise SupernetError(f"{key}: domain {data!r} needs type one of {DOMAIN_TYPES}")
        if data["type"] == "categorical":
            choices = tuple(data.get("choices") or ())
            if not choices:
                raise SupernetError(f"{key}: categorical domain has no choices")
            return cls("categorical", choices=choices)
        low, high = data.get("low"), data.get("high")
        if not (_is_number(low) and _is_number(high) and low <= high):
            raise SupernetError(f"{key}: needs numbers low <= high, got {low!r} and {high!r}")
        step = data.get("step")
        if step is not None and not (_is_number(step) and step > 0):
            raise SupernetError(f"{key}: step {step!r} must be a positive number")
        if data["type"] == "int" and step is None:
            step = 1
        return cls(data["type"], low, high, step, bool(data.get("log", False)))

    @property
    def ordered(self) -> bool:
        """Whether values compare by size (ranges, and categorical lists of plain numbers)."""
        return self.type != "categorical" or all(_is_number(c) for c in self.choices)

    def values(self) -> tuple[Any, ...]:
        """Every value of an int or categorical domain, in order (floats have no finite list)."""
        if self.type == "categorical":
            return self.choices
        if self.type == "float":
            raise SupernetError("a float domain has no finite list of values")
        assert self.low is not None and self.high is not None and self.step is not None
        return tuple(range(int(self.low), int(self.high) + 1, int(self.step)))

    def smallest(self) -> Any:
        return min(self.values()) if self.type != "float" else self.low

    def largest(self) -> Any:
        return max(self.values()) if self.type != "float" else self.high

    def sample(self, rng: random.Random) -> Any:
        """A random value: uniform over choices and grids, log-uniform where ``log`` is set."""
        if self.type == "categorical":
            return rng.choice(self.choices)
        assert self.low is not None and self.high is not None
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
            return round(value) if self.type == "int" else value
        if self.step is None:
            return rng.uniform(self.low, self.high)
        steps = round((self.high - self.low) / self.step)
        value = self.low + self.step * rng.randint(0, steps)
        return int(value) if self.type == "int" else value

    def to_data(self) -> dict[str, Any]:
        """The plain-data form (for cache keys and the cache file)."""
        data = asdict(self)
        data["choices"] = list(self.choices)
        return data


def parse_domains(domains: Mapping[str, Any]) -> dict[str, Domain]:
    """Every domain of a space's ``params`` section, by parameter name."""
    return {str(key): Domain.parse(str(key), data) for key, data in domains.items()}


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, Real) and not isinstance(value, bool)
