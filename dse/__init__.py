"""photonic-dse's engine: search spaces, optimizers, parallel evaluation, Pareto fronts, tracking.

The engine knows nothing of photonics: a search space names its evaluator as
``module:attribute``. Public API::

    from dse import load_space, run_search, SearchRequest
    space = Path("search_spaces/quickstart.yaml")
    result = run_search(SearchRequest(name="demo", space_path=space))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dse.errors import DseError
    from dse.pareto import hypervolume, knee_index, normalize, pareto_front
    from dse.search import SearchRequest, SearchResult, run_search
    from dse.space import SearchSpace, load_space

_LAZY = {
    "DseError": "dse.errors",
    "SearchSpace": "dse.space",
    "load_space": "dse.space",
    "SearchRequest": "dse.search",
    "SearchResult": "dse.search",
    "run_search": "dse.search",
    "pareto_front": "dse.pareto",
    "hypervolume": "dse.pareto",
    "normalize": "dse.pareto",
    "knee_index": "dse.pareto",
}

__all__ = [
    "DseError",
    "SearchRequest",
    "SearchResult",
    "SearchSpace",
    "__version__",
    "hypervolume",
    "knee_index",
    "load_space",
    "normalize",
    "pareto_front",
    "run_search",
]


def __getattr__(name: str) -> Any:
    """Import on first use, so ``dse --help`` stays instant (Ray, MLflow and Optuna are heavy)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dse' has no attribute {name!r}")
