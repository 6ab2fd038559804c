"""Ctrl-C that no library can swallow.

Python turns SIGINT into a ``KeyboardInterrupt`` wherever the main thread happens to be. While
it waits inside Ray, Ray's core worker checks for signals itself and turns the exception into
an "interrupted" status of its own, which not every call turns back into the exception: a
Ctrl-C could be lost there, and the search would run on to its budget. While
:func:`latched_interrupts` holds, a SIGINT still raises at once, and is also remembered, so the
loops that wait on Ray raise it again (:func:`raise_if_interrupted`) if it was swallowed.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_received = threading.Event()


def _remember_and_raise(signum: int, frame: FrameType | None) -> None:
    _received.set()
    raise KeyboardInterrupt


@contextmanager
def latched_interrupts() -> Iterator[None]:
    """Remember every SIGINT received while the block runs (the main thread only installs
    signal handlers; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _remember_and_raise)
    _received.clear()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _received.clear()


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a SIGINT came while :func:`latched_interrupts` held."""
    if _received.is_set():
        raise KeyboardInterrupt
