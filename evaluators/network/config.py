"""`NetworkConfig`: the ``arch.*`` design parameters of the segmentation network family.

Keys and ranges live in one table, ``ARCH_PARAMS``; ``DEFAULT_SPACE`` holds the values a search
usually explores. The network has ``NUM_STAGES`` encoder stages after a stride-2 stem, each
starting with a stride-2 transition, so the total downsampling factor is ``2 ** (NUM_STAGES + 1)``
(16). Stage widths are w, 2w, 4w for ``arch.width`` = w: doubling channels as resolution halves
keeps per-stage compute roughly level.

``arch.block`` and ``arch.iterations`` set every stage at once; ``arch.stageN.*`` overrides one.
``arch.model`` picks the network itself: ``family`` (the default) is this family; any other value
(a published network of :mod:`evaluators.zoo`, or a user's ``module:factory``) is built there and
ignores the family's other ``arch.*`` params, which a search space mixing both still samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from evaluators.network.blocks import BLOCKS
from evaluators.options import FieldSpec, OptionError, Spec, check, coerce

PREFIX = "arch."
NUM_STAGES = 3
FAMILY = "family"
"""``arch.model`` of this network family (the default); other values name evaluators.zoo's."""


class NetworkConfigError(OptionError):
    """A bad design parameter or input size: one line naming the key or size at fault."""


def _stage_key(stage: int, name: str) -> str:
    return f"{PREFIX}stage{stage}.{name}"


def _param(kind: type, low: int | None = None, high: int | None = None, **spec: Any) -> FieldSpec:
    return FieldSpec("", Spec(low, high, **spec), kind, optional=False)


_BLOCK = _param(str, choices=BLOCKS)  # a live registry: a registered block is valid at once
_ITERATIONS = _param(int, 1, 4, unit="repeats of the stage's shared block")
ARCH_PARAMS: dict[str, FieldSpec] = {
    f"{PREFIX}width": _param(int, 4, 64, unit="channels of stage 1"),
    f"{PREFIX}expansion": _param(int, 1, 6, unit="x, inverted bottleneck"),
    f"{PREFIX}kernel_size": _param(int, choices=(3, 5)),
    f"{PREFIX}anytime": _param(bool),
    f"{PREFIX}block": _BLOCK,
    f"{PREFIX}iterations": _ITERATIONS,
    **{_stage_key(s, "block"): _BLOCK for s in range(1, NUM_STAGES + 1)},
    **{_stage_key(s, "iterations"): _ITERATIONS for s in range(1, NUM_STAGES + 1)},
    f"{PREFIX}model": _param(str, unit="family, a published network's name or module:factory"),
}
"""The ``arch.*`` design parameters, validated like every option (:mod:`evaluators.options`)."""

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
    model: str = FAMILY  # another value: a network of evaluators.zoo, the rest unused

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
                known = ", ".join(ARCH_PARAMS)
                raise NetworkConfigError(f"{key}: unknown parameter; known: {known}")
            spec = ARCH_PARAMS[key]
            value = coerce(spec, value, key, NetworkConfigError)
            check(spec, value, key, NetworkConfigError)
            values[key.removeprefix(PREFIX)] = value
        if values.get("model", FAMILY) != FAMILY:
            return cls(model=values["model"])  # the family's params do not apply to it
        return cls(
            width=values.get("width", cls.width),
            expansion=values.get("expansion", cls.expansion),
            kernel_size=values.get("kernel_size", cls.kernel_size),
            anytime=values.get("anytime", cls.anytime),
            stages=tuple(_stage(values, s) for s in range(1, NUM_STAGES + 1)),
        )

    def canonical(self) -> NetworkConfig:
        """This config with what its network ignores at the default: ``expansion`` when no
        stage's block has an expanded middle. Designs that differ only there build the same
        network, so their trained weights are the same (one training, not several)."""
        blocks = (BLOCKS[stage.block] for stage in self.stages)
        if self.model != FAMILY or any(getattr(b, "uses_expansion", True) for b in blocks):
            return self
        return replace(self, expansion=NetworkConfig.expansion)

    def to_params(self) -> dict[str, Any]:
        """The design parameters that rebuild this config (per-stage keys, no shorthands)."""
        if self.model != FAMILY:
            return {f"{PREFIX}model": self.model}
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
