"""evaluators.supernet.space: the designs a supernet covers, and bad domains."""

from __future__ import annotations

from typing import Any

import pytest

from evaluators.supernet import Supernet, SupernetError, SupernetSpace
from tests.support.supernet import BLOCKS, DOMAINS, QUICK_DOMAINS

pytestmark = pytest.mark.usefixtures("one_thread")


def test_space_resolves_capacity_and_stage_choices() -> None:
    space = SupernetSpace.from_domains(
        {**DOMAINS, "arch.block": {"type": "categorical", "choices": ["ghost"]}}
    )
    assert (space.capacity.width, space.capacity.expansion, space.capacity.kernel_size) == (
        16,
        3,
        5,
    )
    assert space.stage_blocks == (("ghost",), tuple(sorted(BLOCKS)), tuple(sorted(BLOCKS)))


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ({"arch.width": {"type": "float", "low": 8, "high": 16}}, "arch.width: a network"),
        (
            {"arch.width": {"type": "int", "low": 8, "high": 640}},
            r"arch\.width=65 out of range: allowed \[4, 64\]",
        ),
        ({"hw.bits": {"type": "interval"}}, "hw.bits: domain"),
        (
            {"arch.block": {"type": "categorical", "choices": ["dense"]}},
            "arch.block='dense': one of standard",
        ),
        ({"hw.bits": {"type": "int", "low": 8, "high": 2}}, "hw.bits: needs numbers low <= high"),
        (
            {"arch.model": {"type": "categorical", "choices": ["family", "enet"]}},
            "arch.model: a supernet covers the project's network family only, not enet",
        ),
    ],
)
def test_bad_domains_fail_in_one_line_naming_the_key(domains: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        SupernetSpace.from_domains(domains)
    assert "\n" not in str(error.value)


def test_a_design_outside_the_supernet_is_named() -> None:
    supernet = Supernet(SupernetSpace.from_domains(QUICK_DOMAINS), num_classes=5)
    with pytest.raises(SupernetError, match=r"arch\.width = 16 is outside the supernet"):
        supernet.network({"arch.width": 16})
    with pytest.raises(SupernetError, match=r"arch\.stage2\.block = ghost is outside"):
        supernet.network({"arch.width": 8, "arch.stage2.block": "ghost"})
