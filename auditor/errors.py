"""One error hierarchy: every user mistake is an AuditorError, which the CLI maps to `exit_code` (2).

Messages are written once, naming options as the command line spells them (`--text-column`,
"The 'batch-size' option"). `str(error)` is what a Python caller reads, so it names parameters as the API
spells them (`text_column=`, "The 'batch_size' parameter"); the CLI prints `error.cli_message()`.
`error.param` is the parameter the error is about (API spelling), when it is about one.
"""

from __future__ import annotations

import re

__all__ = ["AuditorError", "DataError", "OptionError", "RunDirError", "HubError", "DataWarning", "first_line",
           "load_error"]

# "--text-column" where it stands as an option: at the start, after a space or "(" (not inside a quoted value).
_FLAG = re.compile(r"(?<![^\s(])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\b( (?=\S))?")
_COMMAND = "python -m auditor"
_NAMED = re.compile(r"The '([a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)' option")


class AuditorError(Exception):
    """A problem with what the user gave us (data, options, files). Exit code 2 on the CLI."""

    exit_code = 2

    def __init__(self, message: str = "", *, param: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.param = param if param is not None else _param_of(self.message)

    def cli_message(self) -> str:
        """The message as the command line says it: `--text-column`."""
        return self.message

    def __str__(self) -> str:
        """The message as the Python API says it: `text_column=`."""
        # A command line quoted in the message (a resume hint) is meant to be run as it stands.
        text, command, rest = self.message.partition(_COMMAND)
        text = _NAMED.sub(lambda m: f"The '{_snake(m.group(1))}' parameter", text)
        return _FLAG.sub(_as_parameter, text) + command + rest


class DataError(AuditorError):
    """The input data cannot be audited as given."""


class OptionError(AuditorError):
    """An option has a value we cannot use."""


class RunDirError(AuditorError):
    """A run folder is missing, incomplete, or would be overwritten."""


class HubError(AuditorError):
    """The Hugging Face Hub (or the network) refused or could not be reached."""


class DataWarning(UserWarning):
    """Something in the data the user should know (labels merged or look-alike); the CLI prints one line."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none): one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_error(message: str, exc: BaseException) -> AuditorError:
    """`message: <exc's first line>` as a `HubError` when the Hub or the network failed (offline, not
    cached, unreachable, refused: a Hub client or connection error anywhere in `exc`'s chain), else as an
    `OptionError` (a local path that is no model, an id that is no repository name)."""
    error = HubError if _hub_failure(exc) else OptionError
    return error(f"{message}: {first_line(exc)}")


def _hub_failure(exc: BaseException | None) -> bool:
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    hub = (HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError, TimeoutError)
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, hub) or type(exc).__module__.split(".")[0] in ("requests", "httpx", "urllib3"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _snake(option: str) -> str:
    return option.replace("-", "_")


def _as_parameter(match: re.Match) -> str:
    # "--out X: exists" opens a message: "out=X: exists"; elsewhere "pass --overwrite" → "pass overwrite=".
    keep_space = match.group(2) if match.start() > 0 and match.group(2) else ""
    return f"{_snake(match.group(1))}={keep_space}"


def _param_of(message: str) -> str | None:
    found = _NAMED.search(message) or _FLAG.search(message)
    return _snake(found.group(1)) if found else None
