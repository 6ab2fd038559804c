"""The ledger: a kill mid-write loses at most the line being written, never a later one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from dse.errors import SearchError
from dse.ledger import Ledger, SearchSettings, check_name
from dse.trial import Trial


def trial(number: int) -> Trial:
    return Trial(number, 0, {"x": number / 10}, "complete", {"f": float(number)}, finished_at=1.0)


def test_a_torn_last_line_is_skipped_and_appending_goes_on(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.append(trial(0))
    ledger.append(trial(1))
    ledger.close()
    with ledger.trials_path.open("a") as handle:
        handle.write('{"number": 2, "generation": 0, "par')  # the kill came mid-write
    assert [t.number for t in Ledger(tmp_path).read_trials()] == [0, 1]
    again = Ledger(tmp_path)
    again.append(trial(3))
    again.close()
    assert [t.number for t in Ledger(tmp_path).read_trials()] == [0, 1, 3]


def test_a_last_line_that_lost_only_its_newline_is_kept(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.append(trial(0))
    ledger.close()
    ledger.trials_path.write_text(ledger.trials_path.read_text().rstrip("\n"))
    again = Ledger(tmp_path)
    again.append(trial(1))
    again.close()
    assert [t.number for t in Ledger(tmp_path).read_trials()] == [0, 1]


def test_a_damaged_line_before_the_last_stops_reading_with_its_number(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    for number in range(3):
        ledger.append(trial(number))
    ledger.close()
    lines = ledger.trials_path.read_text().splitlines()
    lines[1] = lines[1][:20]
    ledger.trials_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SearchError, match=r"ledger.jsonl: line 2 is damaged"):
        ledger.read_trials()


def make_settings() -> SearchSettings:
    return SearchSettings(
        name="s",
        space={"name": "s"},
        space_path="s.yaml",
        optimizer="nsga2",
        seed=1,
        population=8,
        budget=40,
        tracking_uri="sqlite:///x.db",
        code_version="0.1.0",
        created_at=time.time(),
        bounds=[(0.0, 1.0), (1.0, 100.0)],
    )


def test_settings_round_trip(tmp_path: Path) -> None:
    settings = make_settings()
    ledger = Ledger(tmp_path)
    ledger.write_settings(settings)
    assert ledger.read_settings() == settings
    assert ledger.update_settings(budget=60).budget == 60
    assert not list(tmp_path.glob("*.tmp"))


def test_two_drivers_never_share_a_ledger(tmp_path: Path) -> None:
    first = Ledger(tmp_path / "s")
    first.lock()
    with pytest.raises(SearchError, match="'s' is running in another process"):
        Ledger(tmp_path / "s").lock()


@pytest.mark.parametrize("name", ["", "a b", "../up", "x" * 200])
def test_search_names_are_safe_directory_names(name: str) -> None:
    with pytest.raises(SearchError, match="search name"):
        check_name(name)


def test_settings_of_earlier_versions_with_extra_still_read(tmp_path: Path) -> None:
    settings = make_settings()
    ledger = Ledger(tmp_path)
    ledger.write_settings(settings)
    written = json.loads(ledger.settings_path.read_text())
    ledger.settings_path.write_text(json.dumps({**written, "extra": {}}))  # as 0.1.0 wrote it
    assert ledger.read_settings() == settings
    assert ledger.update_settings(budget=60).budget == 60  # what a resume does
    assert "extra" not in json.loads(ledger.settings_path.read_text())
