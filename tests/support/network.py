"""Helpers of the network-family tests."""

from __future__ import annotations

from typing import Any

NUM_CLASSES = 5


def design(block: str, iterations: int = 1, width: int = 8, **extra: Any) -> dict[str, Any]:
    return {"arch.width": width, "arch.block": block, "arch.iterations": iterations, **extra}
