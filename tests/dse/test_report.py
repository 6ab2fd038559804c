"""The front table people read: whole cells in a narrow terminal and in a log."""

from __future__ import annotations

import pytest

from dse.report import print_front
from dse.space import parse_space
from dse.trial import Trial

PARAMS = [f"block.stage{i}.expansion_ratio" for i in range(6)]
SPACE = parse_space(
    {
        "name": "wide",
        "evaluator": {"target": "dse.problems:ZeroCost"},
        "objectives": [
            {"name": "throughput_fps", "direction": "maximize"},
            {"name": "energy_per_inference_uj", "direction": "minimize"},
        ],
        "params": {name: {"type": "int", "low": 1, "high": 9} for name in PARAMS},
    }
)
FRONT = [
    Trial(
        0,
        0,
        dict.fromkeys(PARAMS, 3),
        "complete",
        {"throughput_fps": 1.234567e6, "energy_per_inference_uj": 12.5},
    ),
    Trial(
        1,
        0,
        dict.fromkeys(PARAMS, 7),
        "complete",
        {"throughput_fps": 2.5e5, "energy_per_inference_uj": 3.25},
    ),
]


def test_a_log_gets_every_column_whole(capsys: pytest.CaptureFixture[str]) -> None:
    print_front(SPACE, FRONT)
    out = capsys.readouterr().out
    assert "…" not in out
    assert all(name in out for name in ["throughput_fps", "1.235e+06", *PARAMS])


def test_a_narrow_terminal_drops_param_columns_instead_of_squeezing_cells(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats the captured stream as a terminal
    monkeypatch.setenv("COLUMNS", "100")
    print_front(SPACE, FRONT)
    out = capsys.readouterr().out
    assert "…" not in out and "energy_per_inference_uj" in out and "1.235e+06" in out
    assert PARAMS[0] in out and PARAMS[-1] not in out
    assert "params: `dse front --format csv`" in out
    assert max(len(line) for line in out.splitlines() if "━" in line) <= 100
