"""`SupernetSpace`: the designs one supernet covers, from a search space's domains.

Only ``arch.*`` domains shape the supernet's weights and only ``hw.*`` domains its noise-aware
training; other params are the engine's business and ignored. A param without a domain keeps
the network's (or hardware's) default in every design, exactly as the search treats it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from evaluators.network import FAMILY, NetworkConfig
from evaluators.supernet.domains import Domain, parse_domains
from evaluators.supernet.errors import SupernetError

ARCH, HARDWARE = "arch.", "hw."
ANYTIME = "arch.anytime"
MODEL = "arch.model"


@dataclass(frozen=True)
class SupernetSpace:
    """The ``arch.*`` and ``hw.*`` domains of a search space, and what follows from them."""

    arch: dict[str, Domain]
    hardware: dict[str, Domain]

    @classmethod
    def from_domains(cls, domains: Mapping[str, Any]) -> SupernetSpace:
        """Read the plain-data domains ``prepare`` receives; fail in one line on a bad one."""
        parsed = parse_domains(domains)
        arch = {k: d for k, d in sorted(parsed.items()) if k.startswith(ARCH)}
        if MODEL in arch and set(arch[MODEL].values()) != {FAMILY}:
            others = ", ".join(str(v) for v in arch[MODEL].values() if v != FAMILY)
            raise SupernetError(
                f"{MODEL}: a supernet covers the project's network family only, not {others};"
                " use fidelity: standalone for a space with other networks"
            )
        for key, domain in arch.items():
            if domain.type == "float":
                raise SupernetError(f"{key}: a network parameter cannot have a float domain")
            for value in domain.values():
                NetworkConfig.from_params({key: value})  # names the key and value at fault
        hardware = {k: d for k, d in sorted(parsed.items()) if k.startswith(HARDWARE)}
        return cls(arch, hardware)

    def to_data(self) -> dict[str, dict[str, Any]]:
        """Plain data that :meth:`from_domains` reads back (cache keys and files)."""
        return {k: d.to_data() for k, d in {**self.arch, **self.hardware}.items()}

    # -- what the supernet must hold ----------------------------------------------------------

    @cached_property
    def capacity(self) -> NetworkConfig:
        """The largest width, expansion and kernel of the space, with anytime heads if any
        design has them: every design's tensors are slices of this network's."""
        largest = {k: d.largest() for k, d in self.arch.items() if d.ordered}
        config = NetworkConfig.from_params(largest)
        anytime = ANYTIME in self.arch and any(self.arch[ANYTIME].values())
        return replace(config, anytime=anytime or config.anytime)

    @cached_property
    def stage_blocks(self) -> tuple[tuple[str, ...], ...]:
        """The block types each stage can take.

        Every combination of the block domains goes through ``NetworkConfig``, so a per-stage
        key overrides the ``arch.block`` shorthand exactly as it does in a design.
        """
        keys = [k for k in self.arch if k.endswith(".block")]
        seen: list[set[str]] = [set() for _ in NetworkConfig().stages]
        for combination in itertools.product(*(self.arch[k].values() for k in keys)):
            config = NetworkConfig.from_params(dict(zip(keys, combination, strict=True)))
            for blocks, stage in zip(seen, config.stages, strict=True):
                blocks.add(stage.block)
        return tuple(tuple(sorted(blocks)) for blocks in seen)

    def check(self, config: NetworkConfig) -> None:
        """Fail in one line, naming the param, when a design needs weights the supernet lacks."""
        capacity = self.capacity
        for name in ("width", "expansion", "kernel_size"):
            value, most = getattr(config, name), getattr(capacity, name)
            if value > most:
                raise SupernetError(f"arch.{name} = {value} is outside the supernet (<= {most})")
        if config.anytime and not capacity.anytime:
            raise SupernetError("arch.anytime = True is outside the supernet (no anytime heads)")
        stages = zip(config.stages, self.stage_blocks, strict=True)
        for index, (stage, blocks) in enumerate(stages, start=1):
            if stage.block not in blocks:
                raise SupernetError(
                    f"arch.stage{index}.block = {stage.block} is outside the supernet"
                    f" (choices: {', '.join(blocks)})"
                )

    # -- drawing designs ----------------------------------------------------------------------

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """A random design's ``arch.*`` params, each domain drawn independently."""
        return {k: d.sample(rng) for k, d in self.arch.items()}

    def extreme(self, rng: random.Random, *, largest: bool) -> dict[str, Any]:
        """The largest (or smallest) design: ordered params at their end, the others random
        (a block type has no size order)."""
        return {
            k: (d.largest() if largest else d.smallest()) if d.ordered else d.sample(rng)
            for k, d in self.arch.items()
        }

    def sample_hardware(self, rng: random.Random) -> dict[str, Any]:
        """Random ``hw.*`` params: one chip of the space's hardware range."""
        return {k: d.sample(rng) for k, d in self.hardware.items()}
