"""The one exception type of the supernet package."""


class SupernetError(ValueError):
    """A bad domain, a design outside the supernet, or an unusable cache file: one line."""
