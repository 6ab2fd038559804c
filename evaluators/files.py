"""Cache files written so that no reader ever sees half of one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a file next to ``path`` (a name of this process's own: workers may race for the
    same entry), then rename it onto ``path`` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    write(temporary)
    temporary.replace(path)
