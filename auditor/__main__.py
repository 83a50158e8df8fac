"""`python -m auditor`: Ctrl-C or SIGTERM while the libraries load ends with one line, not a traceback."""

import os
import signal
import sys


def _stopped_while_starting(signum, frame):
    sys.stderr.write(f"auditor: interrupted ({signal.Signals(signum).name}) while starting; nothing was written.\n")
    sys.stderr.flush()
    os._exit(128 + signum)


if __name__ == "__main__":
    for _signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_signum, _stopped_while_starting)
    from auditor.cli import main

    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on, main() reports interrupts
    code = main()
    if code == 128 + signal.SIGINT:
        # CPython 3.11 kills itself with SIGINT at exit (status -2, not 130) when a KeyboardInterrupt crossed an
        # exec() of a string, as scipy.stats does while it imports, even though main() caught it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)
