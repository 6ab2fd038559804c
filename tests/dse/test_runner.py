"""How the Ray runner groups designs into calls (the calls themselves run in the e2e tests)."""

from __future__ import annotations

from collections import deque

from dse.runner import MAX_BATCH, Job, RayRunner


def runner(workers: int = 2, timeout_s: float | None = None) -> RayRunner:
    pool = RayRunner("dse.problems:ZeroCost", workers=workers, timeout_s=timeout_s)
    pool._actors = [object()] * workers  # sizes depend on the pool, not on Ray
    return pool


def test_untimed_and_dear_designs_go_one_per_call() -> None:
    pool = runner()
    assert pool._batch_size(None, 100) == 1  # nothing timed yet
    pool._seconds[None] = 2.0  # a CamVid design: seconds
    assert pool._batch_size(None, 100) == 1


def test_cheap_designs_share_calls_spread_over_the_workers() -> None:
    pool = runner(workers=2)
    pool._seconds[None] = 1e-3
    assert pool._batch_size(None, 1000) == 50  # about 50 ms of work a call
    assert pool._batch_size(None, 30) == 15  # both workers get a share
    pool._seconds[None] = 1e-7
    assert pool._batch_size(None, 1000) == MAX_BATCH


def test_a_batch_stays_well_inside_the_timeout() -> None:
    pool = runner(timeout_s=0.1)
    pool._seconds[None] = 1e-3
    assert pool._batch_size(None, 1000) == 10  # a tenth of the timeout


def test_a_batch_holds_one_level_and_never_a_design_that_must_run_alone() -> None:
    pool = runner(workers=1)
    pool._seconds.update({"cheap": 1e-4, "dear": 1e-4})
    jobs = [Job(i, {"x0": 0.0}, "cheap") for i in range(3)] + [Job(3, {"x0": 0.0}, "dear")]
    queue = deque((job, job.number == 2) for job in jobs)
    assert [j.number for j in pool._take_batch(queue)] == [0, 1]  # 2 must run alone
    assert [j.number for j in pool._take_batch(queue)] == [2]
    assert [j.number for j in pool._take_batch(queue)] == [3]  # another level
