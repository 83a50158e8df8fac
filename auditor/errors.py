"""One error hierarchy: every user mistake is an AuditorError, which the CLI maps to exit code 2."""

__all__ = ["AuditorError", "DataError", "OptionError", "RunDirError", "DataWarning"]


class AuditorError(Exception):
    """A problem with what the user gave us (data, options, files). Exit code 2 on the CLI."""

    exit_code = 2


class DataError(AuditorError):
    """The input data cannot be audited as given."""


class OptionError(AuditorError):
    """An option has a value we cannot use."""


class RunDirError(AuditorError):
    """A run folder is missing, incomplete, or would be overwritten."""


class DataWarning(UserWarning):
    """Something in the data the user should know (labels merged or look-alike); the CLI prints one line."""
