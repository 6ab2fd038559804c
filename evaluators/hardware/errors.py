"""The exceptions of the hardware model.

Every mistake a user can make in a hardware description becomes one line that names the field
and what it accepts, so a search fails before any work starts and the culprit is obvious.
"""

from evaluators.options import OptionError


class ConfigError(OptionError):
    """A hardware configuration value is invalid: ``<field>=<value>: <allowed range>``."""


class ExtractionError(ValueError):
    """A network holds an operation the hardware model cannot map: names the graph node."""
