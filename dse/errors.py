"""Errors the engine reports to users.

Every error a user can cause (a broken space file, an unknown evaluator, a search name that is
taken) is a :class:`DseError` whose message is one line naming the culprit; the CLI prints it
without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class DseError(Exception):
    """Base of user-facing errors: the message is one line that names the culprit."""

    exit_code = 2


class SpaceError(DseError):
    """A search-space or design file is malformed: ``<file>: <key>: <problem>``."""


class EvaluatorError(DseError):
    """The evaluator named in a space cannot be imported, built or set up."""


class SearchError(DseError):
    """A search cannot start or continue (name taken, nothing to resume, ledger mismatch)."""


class StoreError(DseError):
    """The tracking store does not hold what a command asked for."""


class Interrupted(DseError):
    """The user stopped a search (Ctrl-C); everything finished so far is kept."""

    exit_code = 130
