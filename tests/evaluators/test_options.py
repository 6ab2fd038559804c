"""evaluators.options: declared fields, one create(), one shape of error for every mistake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

from evaluators.options import OptionError, Options, knob
from evaluators.registry import Registry

KINDS: Registry[int] = Registry("kind")
KINDS.register("a")(1)


class ToyError(OptionError):
    pass


@dataclass(frozen=True)
class Toy(Options):
    label: ClassVar[str] = "toy."
    error: ClassVar[type[ToyError]] = ToyError

    count: int = knob(2, 1, 8, "items", "a source")
    rate: float = knob(0.5, 0.0, "ceiling", "", open_low=True, note="at most the ceiling")
    ceiling: float = knob(1.0, 0.0, 10.0)
    kind: str = knob("a", choices=KINDS)
    flag: bool = knob(False)
    size: tuple[int, int] = knob((1, 2))
    extra: dict[str, Any] = knob({})
    limit: int | None = knob(None, 0, None)


def test_defaults_and_coercion_of_user_input() -> None:
    assert Toy() == Toy.create()
    toy = Toy.create(count="3", rate=np.float32(0.25), flag="yes", size=[3, 4], limit=np.int64(5))
    assert (toy.count, toy.rate, toy.flag, toy.size, toy.limit) == (3, 0.25, True, (3, 4), 5)
    assert Toy.create(count=4.0).count == 4 and Toy.create(flag=1).flag is True
    assert Toy().extra == {} and Toy().extra is not Toy().extra  # a dict default per instance


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"colour": 1}, r"^toy\.colour: unknown option; known: ceiling, count, extra, flag, "),
        ({"count": 9}, r"^toy\.count=9 out of range: allowed \[1, 8\] items$"),
        ({"count": "many"}, r"^toy\.count='many': expected int$"),
        ({"count": 2.5}, r"^toy\.count=2\.5: expected int; allowed \[1, 8\] items$"),
        ({"rate": 0}, r"^toy\.rate=0 out of range: allowed \(0\.0, 1\.0\]"),
        ({"rate": 2.0}, r"^toy\.rate=2\.0 out of range: .*\(ceiling: at most the ceiling\)$"),
        ({"kind": "b"}, r"^toy\.kind='b': one of a$"),
        ({"flag": "maybe"}, r"^toy\.flag='maybe': expected bool$"),
        ({"flag": 2}, r"^toy\.flag=2: expected bool; true or false$"),
        ({"size": 3}, r"^toy\.size=3: expected tuple$"),
        ({"limit": -1}, r"^toy\.limit=-1 out of range: allowed >= 0$"),
    ],
)
def test_every_mistake_is_one_line_naming_the_field(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ToyError, match=message) as error:
        Toy.create(**values)
    assert "\n" not in str(error.value)


def test_a_live_registry_is_a_valid_choice_at_once() -> None:
    KINDS.register("b")(2)
    try:
        assert Toy.create(kind="b").kind == "b"
    finally:
        del KINDS["b"]


def test_direct_construction_validates_without_coercion() -> None:
    with pytest.raises(ToyError, match=r"^toy\.count='3': expected int"):
        Toy(count="3")  # type: ignore[arg-type]
    assert Toy(limit=None).limit is None


def test_a_named_bound_is_read_from_the_other_field() -> None:
    assert Toy.create(rate=5.0, ceiling=6.0).rate == 5.0
    with pytest.raises(ToyError, match=r"allowed \(0\.0, 6\.0\]"):
        Toy.create(rate=7.0, ceiling=6.0)
