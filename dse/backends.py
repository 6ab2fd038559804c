"""Which evaluation backend a search or a verification runs on: Ray workers, or this process.

``workers`` of 1 or more: that many Ray actors (:class:`dse.runner.RayRunner`), on a local
cluster or the one at ``ray_address``, else at ``$RAY_ADDRESS``
(:func:`dse.runner.cluster_address`); 0: the evaluators run in this process, without Ray
(:class:`dse.inline.InlineRunner`), for evaluators too cheap to be worth a cluster.
"""

from __future__ import annotations

from dse.errors import SearchError
from dse.inline import InlineRunner
from dse.runner import RayRunner, Runner


def make_runner(
    target: str,
    *,
    workers: int,
    ray_address: str | None = None,
    verbose: bool = False,
    timeout_s: float | None = None,
) -> Runner:
    """The backend for ``workers`` (see the module docstring); one line on a bad combination."""
    if workers == 0:
        if ray_address is not None:
            raise SearchError("--workers 0 runs in this process: it cannot join --ray-address")
        return InlineRunner(target, timeout_s=timeout_s)
    if workers < 0:
        raise SearchError(f"--workers must be 0 (this process) or more, got {workers}")
    return RayRunner(
        target, workers=workers, ray_address=ray_address, verbose=verbose, timeout_s=timeout_s
    )
