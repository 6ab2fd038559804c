"""The one exception type of the data package."""


class DataError(ValueError):
    """Bad or missing data: the message is one line naming the file, array or value at fault."""
