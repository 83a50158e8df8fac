"""Option parsing shared by the command groups: typed values with our one-line error, the command line."""

from __future__ import annotations

import shlex
import sys

from ..errors import AuditorError


def int_type(name):
    def parse(value):
        try:
            return int(value)
        except ValueError:
            raise AuditorError(f"The '{name}' option must be an int. Got {value!r} instead.") from None

    return parse


def float_type(name):
    def parse(value):
        try:
            return float(value)
        except ValueError:
            raise AuditorError(f"The '{name}' option must be a number. Got {value!r} instead.") from None

    return parse


def command_line() -> str:
    return "python -m auditor " + " ".join(shlex.quote(a) for a in sys.argv[1:])


