"""Errors the user can act on. The CLI and the GUI show their message without a traceback."""


class SpaderError(Exception):
    """Base class: a problem with input, files or settings, explained in plain words."""


class ModelFileError(SpaderError):
    """A model file is missing, damaged, or does not match what the code expects."""


class DataError(SpaderError):
    """A data file or folder is missing, empty, or has the wrong shape, dtype or unit."""


def shown(value: object, limit: int = 60) -> str:
    """A value as an error message shows it: its repr, cut to ``limit`` characters, and
    safe for an int of any length (whose repr past 4300 digits is itself an error)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** 18:
        return "a whole number of more than 18 digits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
