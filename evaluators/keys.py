"""Content keys: what a cached result (trained weights, a supernet) is filed under.

A key is a short SHA-256 of plain data describing everything the result depends on, so a cache
entry is reused exactly when none of it changed and any change files a new entry. Keys are part
of the cache's format: changing how they are computed orphans every existing entry.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

SOURCES = (".py", ".c")
"""Suffixes of the files that :func:`source_key` reads."""


def content_key(data: Any) -> str:
    """24 hex digits of the SHA-256 of ``data`` as JSON (sorted keys, tuples as lists, other
    values as their text)."""
    blob = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@functools.cache
def source_key(*modules: ModuleType) -> str:
    """24 hex digits of the SHA-256 of the source of ``modules`` (every ``.py`` and ``.c`` file
    of a package: the native tile computes scores too): for a cached result whose numbers the
    code computes, not only its inputs, so that editing that code files new results instead of
    serving stale ones."""
    digest = hashlib.sha256()
    for module in modules:
        origin = Path(module.__file__ or "")
        package = origin.name == "__init__.py"
        files = (
            sorted(p for p in origin.parent.rglob("*") if p.suffix in SOURCES)
            if package
            else [origin]
        )
        for path in files:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]
