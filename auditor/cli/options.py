"""Option parsing shared by the command groups: typed values with our one-line error, the command line."""

from __future__ import annotations

import shlex
import sys

from ..errors import AuditorError


def int_type(name):
    """argparse `type=` for an int option named `name`, failing with our one-line message."""
    return _typed(name, int, "an int")


def float_type(name):
    """argparse `type=` for a number option named `name`."""
    return _typed(name, float, "a number")


def _typed(name, cast, expected):
    def parse(value):
        try:
            return cast(value)
        except ValueError:
            raise AuditorError(f"The '{name}' option must be {expected}. Got {value!r} instead.") from None

    return parse


def command_line() -> str:
    return "python -m auditor " + " ".join(shlex.quote(a) for a in sys.argv[1:])


