"""Keep freed large buffers in the process instead of handing them back to the OS (glibc).

Scoring allocates tensors of 10-45 MB in every layer call (32 frames at 96 channels and
48 x 64 pixels are 38 MB). glibc serves an allocation above its mmap threshold (which adapts up
to 32 MB) with a fresh mapping and unmaps it when freed, and trims the top of its heap when more
than its trim threshold is free, so each such tensor pays its page faults again. Raising both
thresholds lets the heap hand the same pages out again: scoring 8 CamVid designs faulted 0.21 M
pages instead of 1.74 M, spent 0.4 s in the kernel instead of 2.6 s, and about 6 % less CPU time
in all (benchmarks/RESULTS.md, "A fused native tile"). The price: a worker holds on to its peak
memory (0.94 GB instead of 0.84 there). A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import functools

__all__ = ["keep_large_buffers"]

_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3
LARGEST_KEPT = 1 << 29
"""Allocations up to 512 MB come from the heap (the largest scoring tensors are ~50 MB)."""
OLD_GLIBC_LARGEST = 1 << 25
"""glibc before 2.35 refuses an mmap threshold above 32 MB (half its largest heap)."""


@functools.cache
def keep_large_buffers() -> bool:
    """Raise glibc's mmap and trim thresholds for this process, once; whether it could (the
    trim threshold is left alone when the mmap threshold could not be raised at all)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    for largest in (LARGEST_KEPT, OLD_GLIBC_LARGEST):
        if mallopt(_M_MMAP_THRESHOLD, largest):
            return bool(mallopt(_M_TRIM_THRESHOLD, 2 * largest))
    return False
