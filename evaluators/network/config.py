"""`NetworkConfig`: the ``arch.*`` design parameters of the segmentation network family.

Keys and ranges live in one table, ``ARCH_PARAMS``; ``DEFAULT_SPACE`` holds the values a search
usually explores. The network has ``NUM_STAGES`` encoder stages after a stride-2 stem, each
starting with a stride-2 transition, so the total downsampling factor is ``2 ** (NUM_STAGES + 1)``
(16). Stage widths are w, 2w, 4w for ``arch.width`` = w: doubling channels as resolution halves
keeps per-stage compute roughly level.

``arch.block`` and ``arch.iterations`` set every stage at once; ``arch.stageN.*`` overrides one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Protocol

from evaluators.network.blocks import BLOCKS

PREFIX = "arch."
NUM_STAGES = 3


class NetworkConfigError(ValueError):
    """A bad design parameter or input size: one line naming the key or size at fault."""


class ParamSpec(Protocol):
    def parse(self, key: str, value: Any) -> Any: ...


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int

    def parse(self, key: str, value: Any) -> int:
        """An int in [low, high]; integral floats (3.0, as some optimisers give) are accepted."""
        integral = isinstance(value, Integral) and not isinstance(value, bool)
        if not (integral or (isinstance(value, float) and value.is_integer())):
            raise NetworkConfigError(f"{key} = {value!r} is not an integer")
        number = int(value)
        if not self.low <= number <= self.high:
            raise NetworkConfigError(f"{key} = {number} is out of range {self.low}..{self.high}")
        return number


@dataclass(frozen=True)
class Choice:
    choices: Collection[Any]  # a live registry (dict) works: new entries become valid choices

    def parse(self, key: str, value: Any) -> Any:
        for choice in self.choices:
            if choice == value and not isinstance(value, bool):
                return choice
        known = ", ".join(map(str, self.choices))
        raise NetworkConfigError(f"{key} = {value!r} is not one of {known}")


@dataclass(frozen=True)
class Flag:
    def parse(self, key: str, value: Any) -> bool:
        if isinstance(value, bool) or (isinstance(value, Integral) and value in (0, 1)):
            return bool(value)
        raise NetworkConfigError(f"{key} = {value!r} is not a boolean")


def _stage_key(stage: int, name: str) -> str:
    return f"{PREFIX}stage{stage}.{name}"


ARCH_PARAMS: dict[str, ParamSpec] = {
    f"{PREFIX}width": IntRange(4, 64),
    f"{PREFIX}expansion": IntRange(1, 6),
    f"{PREFIX}kernel_size": Choice((3, 5)),
    f"{PREFIX}anytime": Flag(),
    f"{PREFIX}block": Choice(BLOCKS),
    f"{PREFIX}iterations": IntRange(1, 4),
    **{_stage_key(s, "block"): Choice(BLOCKS) for s in range(1, NUM_STAGES + 1)},
    **{_stage_key(s, "iterations"): IntRange(1, 4) for s in range(1, NUM_STAGES + 1)},
}

DEFAULT_SPACE: dict[str, tuple[Any, ...]] = {
    "width": (8, 16, 24, 32, 40, 48),
    "expansion": (1, 2, 3, 4, 5, 6),
    "kernel_size": (3, 5),
    "block": tuple(BLOCKS),
    "iterations": (1, 2, 3, 4),
    "anytime": (False, True),
}


@dataclass(frozen=True)
class StageConfig:
    block: str = "standard"
    iterations: int = 1  # the stage's one block instance runs this many times (shared weights)


@dataclass(frozen=True)
class NetworkConfig:
    width: int = 16
    expansion: int = 4
    kernel_size: int = 3
    stages: tuple[StageConfig, ...] = field(default=(StageConfig(),) * NUM_STAGES)
    anytime: bool = False  # train intermediate heads too; inference uses the final output only

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """Channels of each stage: the base width, doubled at every stage (w, 2w, 4w)."""
        return tuple(self.width * 2**index for index in range(len(self.stages)))

    @property
    def downsampling(self) -> int:
        """Total stride: H and W of the input must be multiples of it."""
        return 2 ** (len(self.stages) + 1)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> NetworkConfig:
        """Read the ``arch.*`` entries of a design (others, e.g. ``hw.*``, are ignored)."""
        values = {}
        for key, value in params.items():
            if not key.startswith(PREFIX):
                continue
            if key not in ARCH_PARAMS:
                raise NetworkConfigError(f"unknown design parameter {key!r}")
            values[key.removeprefix(PREFIX)] = ARCH_PARAMS[key].parse(key, value)
        return cls(
            width=values.get("width", cls.width),
            expansion=values.get("expansion", cls.expansion),
            kernel_size=values.get("kernel_size", cls.kernel_size),
            anytime=values.get("anytime", cls.anytime),
            stages=tuple(_stage(values, s) for s in range(1, NUM_STAGES + 1)),
        )

    def to_params(self) -> dict[str, Any]:
        """The design parameters that rebuild this config (per-stage keys, no shorthands)."""
        params: dict[str, Any] = {
            f"{PREFIX}width": self.width,
            f"{PREFIX}expansion": self.expansion,
            f"{PREFIX}kernel_size": self.kernel_size,
            f"{PREFIX}anytime": self.anytime,
        }
        for index, stage in enumerate(self.stages, start=1):
            params[_stage_key(index, "block")] = stage.block
            params[_stage_key(index, "iterations")] = stage.iterations
        return params


def _stage(values: Mapping[str, Any], stage: int) -> StageConfig:
    """A stage's config: its own key, else the all-stages shorthand, else the default."""
    prefix = f"stage{stage}."
    return StageConfig(
        block=values.get(prefix + "block", values.get("block", StageConfig.block)),
        iterations=values.get(
            prefix + "iterations", values.get("iterations", StageConfig.iterations)
        ),
    )
