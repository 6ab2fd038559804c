"""Content keys: what a cached result (trained weights, a supernet) is filed under.

A key is a short SHA-256 of plain data describing everything the result depends on, so a cache
entry is reused exactly when none of it changed and any change files a new entry. Keys are part
of the cache's format: changing how they are computed orphans every existing entry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_key(data: Any) -> str:
    """24 hex digits of the SHA-256 of ``data`` as JSON (sorted keys, tuples as lists, other
    values as their text)."""
    blob = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]
