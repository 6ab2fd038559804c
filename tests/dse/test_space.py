"""Search-space validation: every broken file fails with one line naming file, key and problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dse.errors import SpaceError
from dse.space import load_space, parse_space

BASE: dict[str, Any] = {
    "name": "demo",
    "evaluator": {"target": "dse.problems:ZeroCost"},
    "objectives": [
        {"name": "f1", "direction": "minimize"},
        {"name": "f2", "direction": "maximize"},
    ],
    "constraints": [{"metric": "f1", "max": 0.5}],
    "params": {
        "x0": {"type": "float", "low": 0.0, "high": 1.0},
        "arch.width": {"type": "int", "low": 8, "high": 48, "step": 8},
        "arch.block": {"type": "categorical", "choices": ["standard", "depthwise", "ghost"]},
    },
}


def broken(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split("/")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


def test_valid_space_parses() -> None:
    space = parse_space(BASE, "demo.yaml")
    assert space.objective_names == ["f1", "f2"]
    assert space.params["arch.width"].values() == [8, 16, 24, 32, 40, 48]  # type: ignore[union-attr]
    assert space.violations({"f1": 0.7, "f2": 0.0}) == pytest.approx([0.2])
    assert space.parse_params({"x0": "0.25", "arch.width": "16", "arch.block": "ghost"}) == {
        "x0": 0.25,
        "arch.width": 16,
        "arch.block": "ghost",
    }


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("params/arch.width/type", "integer", "params.arch.width: unknown type 'integer'"),
        ("params/arch.width/low", 64, "params.arch.width: low (64) > high (48)"),
        ("params/arch.block/choices", [], "params.arch.block.choices"),
        ("params/arch.block/choices", ["a", "a"], "params.arch.block: choices repeat a value"),
        ("params/arch.width/step", 7, "params.arch.width: high - low (40) is not a multiple"),
        ("params/x0/log", True, "params.x0: log: true needs low > 0"),
        ("params/x0/lo", 0.0, "params.x0.lo: Extra inputs are not permitted"),
        ("evaluator/target", "nomodule", "evaluator: target must look like"),
        ("objectives/0/direction", "up", "objectives.0.direction"),
        ("objectives/0/bounds", [1.0, 0.0], "objectives.0: bounds need low < high"),
        ("constraints/0/max", KeyError, "constraints.0: a constraint needs min or max"),
        ("params", KeyError, "params: Field required"),
        ("search", {"timeout_s": 0}, "search.timeout_s: Input should be greater than 0"),
    ],
)
def test_broken_space_names_the_key(path: str, value: Any, expected: str) -> None:
    with pytest.raises(SpaceError) as error:
        parse_space(broken(path, value), "demo.yaml")
    message = str(error.value)
    assert message.startswith("demo.yaml: ")
    assert expected in message
    assert "\n" not in message


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: demo\nparams:\n  x0: {type: float, low: 0\n")
    with pytest.raises(SpaceError, match=r"bad.yaml: line \d+: malformed YAML"):
        load_space(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match=r"nope\.yaml: cannot read"):
        load_space(tmp_path / "nope.yaml")


def test_shipped_spaces_are_valid() -> None:
    for path in sorted(Path(__file__).resolve().parents[2].glob("search_spaces/**/*.yaml")):
        load_space(path)
