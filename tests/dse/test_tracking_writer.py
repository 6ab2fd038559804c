"""The tracking writer process: typed messages, trials batched, failures reported at a flush."""

from __future__ import annotations

from collections import deque
from multiprocessing import Pipe
from pathlib import Path

import pytest

from dse.errors import SearchError
from dse.mlflow_client import client_for
from dse.tracking_writer import (
    Flush,
    LogMetrics,
    LogTrials,
    MarkPareto,
    Message,
    SetTags,
    Start,
    Stop,
    TrackingProcess,
    take_trials,
    wait_for_writer,
)
from dse.trial import Trial


def trial(number: int) -> Trial:
    x = number / 10
    return Trial(number, 0, {"x0": x}, "complete", {"f1": x}, duration_s=1.0, finished_at=1.7e9)


@pytest.mark.parametrize(
    "message",
    [
        Start(Path("/tmp/lock"), "sqlite:///x.db", "1", "parent", {3: "run"}),
        LogTrials((trial(0), trial(1))),
        LogMetrics(2, {"hypervolume": 0.5, "front_size": 4.0}),
        SetTags({"dse.bounds": "[[0, 1]]"}),
        MarkPareto((0, 1)),
        Flush(),
        Stop(),
    ],
    ids=lambda message: type(message).__name__,
)
def test_messages_round_trip_through_the_pipe(message: Message | Start) -> None:
    ours, theirs = Pipe()
    ours.send(message)
    received = theirs.recv()
    assert type(received) is type(message) and received == message


def test_consecutive_trial_messages_make_one_batch_in_order() -> None:
    later = LogTrials((trial(3),))
    pending: deque[Message] = deque(
        [LogTrials((trial(1),)), LogTrials((trial(2),)), LogMetrics(0, {}), later]
    )
    batch = take_trials(LogTrials((trial(0),)), pending)
    assert [t.number for t in batch.trials] == [0, 1, 2]
    assert list(pending) == [LogMetrics(0, {}), later]


def test_the_writer_writes_what_it_is_sent_and_reports_a_failure_at_the_next_flush(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = client_for(uri)
    experiment = client.create_experiment("e", artifact_location=str(tmp_path / "artifacts"))
    parent = client.create_run(experiment, run_name="parent").info.run_id
    lock = tmp_path / "tracking.lock"
    writer = TrackingProcess(Start(lock, uri, experiment, parent, {}))
    try:
        for number in range(3):
            writer.send(LogTrials((trial(number),)))
        writer.send(LogMetrics(0, {"hypervolume": 0.25}))
        writer.send(SetTags({"dse.bounds": "[[0, 1]]"}))
        writer.send(MarkPareto((1,)))
        writer.flush()
        writer.send(MarkPareto((99,)))  # no such trial
        writer.send(LogMetrics(1, {"hypervolume": 0.5}))  # written all the same
        with pytest.raises(SearchError, match="tracking failed: MarkPareto: KeyError: 99"):
            writer.flush()
        writer.flush()  # the failure was reported once
    finally:
        writer.stop()
    wait_for_writer(lock, timeout_s=5)  # the stopped writer let go of its lock

    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    pareto = {r.data.tags["dse.trial"]: r.data.tags["dse.pareto"] for r in children}
    assert pareto == {"0": "false", "1": "true", "2": "false"}
    history = client.get_metric_history(parent, "hypervolume")
    assert [(m.step, m.value) for m in history] == [(0, 0.25), (1, 0.5)]
    assert client.get_run(parent).data.tags["dse.bounds"] == "[[0, 1]]"
