"""Named implementations (block types, dataset kinds, fidelities): a registry instead of if/elif.

A :class:`Registry` is a dict from name to implementation, so it serves directly as the
``choices`` of an option or a design parameter (a newly registered name is valid at once). A
name registers once: a second registration under the same name is an error, never a silent
replacement of the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """Implementations of one kind (``kind`` names it in errors), added by :meth:`register`."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding an implementation under ``name``."""

        def add(implementation: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self[name] = implementation
            return implementation

        return add

    def lookup(self, name: str, error: type[Exception], label: str) -> T:
        """The implementation named ``name``; else ``error`` in the one-line form of an option
        error (``<label>=<name>: one of ...``)."""
        if name not in self:
            raise error(f"{label}={name!r}: one of {', '.join(sorted(self))}")
        return self[name]
