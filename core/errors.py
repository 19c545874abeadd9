"""Errors the user can act on. The CLI and the GUI show their message without a traceback."""


class SpaderError(Exception):
    """Base class: a problem with input, files or settings, explained in plain words."""


class ModelFileError(SpaderError):
    """A model file is missing, damaged, or does not match what the code expects."""


class DataError(SpaderError):
    """A data file or folder is missing, empty, or has the wrong shape, dtype or unit."""
