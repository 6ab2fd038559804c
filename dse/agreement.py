"""Rank agreement between two scorings of the same designs: how far a cheap proxy can be trusted.

``dse verify`` compares a search's scores with verified ones; a multi-fidelity search compares
each pair of adjacent levels on the designs promoted from one to the next, per generation and
over the whole search, so it measures its own proxy as it goes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from dse.results import Results
from dse.space import SearchSpace


def kendall_tau(proxy: Sequence[float], verified: Sequence[float]) -> float:
    """Rank agreement of two scorings of the same designs (NaN when undefined)."""
    from scipy.stats import kendalltau

    if len(proxy) < 2:
        return math.nan
    return float(kendalltau(proxy, verified).statistic)


def level_agreement(
    results: Results, space: SearchSpace, numbers: Iterable[int], prefix: str = "tau"
) -> dict[str, float]:
    """Kendall tau per objective between every two adjacent levels, over those of ``numbers``
    that have working results at both: ``<prefix>/<lower>-<upper>/<objective>``; undefined
    values (fewer than two designs, constant scores) are left out."""
    numbers = list(numbers)
    agreement: dict[str, float] = {}
    for lower, upper in zip(space.levels, space.levels[1:], strict=False):
        pairs = [
            (low, high)
            for n in numbers
            if (low := results.get(n, lower)) and (high := results.get(n, upper))
            if low.ok and high.ok
        ]
        for name in space.objective_names:
            tau = kendall_tau(
                [p.metrics[name] for p, _ in pairs], [q.metrics[name] for _, q in pairs]
            )
            if math.isfinite(tau):
                agreement[f"{prefix}/{lower}-{upper}/{name}"] = tau
    return agreement
