"""The exception types of the supernet package: one line each."""

from evaluators.options import OptionError


class SupernetError(ValueError):
    """A bad domain, a design outside the supernet, or an unusable cache file: one line."""


class SupernetSettingsError(SupernetError, OptionError):
    """A bad ``supernet`` option (what :class:`~evaluators.supernet.SupernetSettings` reads)."""
