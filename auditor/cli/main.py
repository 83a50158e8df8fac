"""A thin command line over the package's functions. User errors → one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from contextlib import contextmanager

from ..errors import AuditorError, DataWarning
from .bench import add_bench
from .run import add_run
from .runfolder import add_commands

__all__ = ["main", "build_parser"]

EXIT_BUG = 1


class _Parser(argparse.ArgumentParser):
    """argparse prints usage and exits 2 on bad options; we keep exit 2 but print our one-line shape."""

    def error(self, message):
        raise AuditorError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="auditor", description="Find mislabelled examples in a text-classification dataset.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    add_run(sub.add_parser("run", help="audit a dataset (default: the shipped emotion training split)"))
    add_bench(sub.add_parser("bench", help="plant label noise and measure how well each method finds it"))
    add_commands(sub)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    restore = _terminate_like_interrupt()
    try:
        parser = build_parser()  # inside the try: Ctrl-C while it imports is one line too
        argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
        _check_arguments_are_text(argv)
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            command = f"auditor {args.command}" if args.command else "auditor"
            raise AuditorError(f"unrecognized arguments: {' '.join(unknown)} (see '{command} --help')")
        if args.command is None:
            parser.print_help()
            return 0
        with _warnings_as_lines(getattr(args, "quiet", False)):
            return args.func(args)
    except AuditorError as exc:
        from ..distributed import is_main_process

        if _debug():
            _show_causes(exc)
            raise
        # Every process of a torchrun launch meets the same bad input; one message is enough.
        if is_main_process():
            _error_line(f"auditor: error: {exc.cli_message()}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        kept = str(exc) or "no run folder was written."
        _error_line(f"auditor: interrupted ({signal.Signals(signum).name}); {kept}")
        return 128 + signum
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if _debug():
            _show_causes(exc)
            raise
        _error_line(
            f"auditor: internal error: {type(exc).__name__}: {exc} "
            "(a bug: please report it with the command line; AUDITOR_DEBUG=1 shows the traceback)"
        )
        return EXIT_BUG
    finally:
        restore()


def _debug() -> bool:
    return os.environ.get("AUDITOR_DEBUG", "") not in ("", "0")


def _show_causes(exc: BaseException) -> None:
    """Undo `raise ... from None` along the chain, so the debug traceback shows what went wrong first."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__suppress_context__ = False
        exc = exc.__cause__ or exc.__context__


def _check_arguments_are_text(argv) -> None:
    """Bytes that are not UTF-8 (a path from another system) cannot be written into run.json or a report."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise AuditorError(f"argument {shown!r} holds bytes that are not UTF-8; rename the file or folder "
                               "(or run with a UTF-8 locale).") from None


@contextmanager
def _warnings_as_lines(quiet: bool):
    """Library and data warnings as one `auditor: warning:` line each; --quiet silences them and progress bars."""
    if quiet:
        for name in ("TQDM_DISABLE", "HF_DATASETS_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_PROGRESS_BARS"):
            os.environ[name] = "1"
        os.environ["TRANSFORMERS_VERBOSITY"] = "error"
        os.environ["DATASETS_VERBOSITY"] = "error"
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        else:
            warnings.simplefilter("always", DataWarning)  # each run says it, not only the first in a process
            warnings.showwarning = _warning_line
        yield


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    _error_line(f"auditor: warning: {message}")


def _error_line(message: str) -> None:
    """Messages may quote values that hold newlines; the user still gets exactly one line."""
    print(" ".join(message.split("\n")).replace("\r", " "), file=sys.stderr, flush=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds (and cleans up) exactly as Ctrl-C does."""

    signum = signal.SIGTERM


def _terminate_like_interrupt():
    """Install the SIGTERM handler; returns a function that puts the previous one back."""

    main_pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != main_pid:
            # A forked worker stopped before the at-fork hook reset its handler: die as it would have.
            os._exit(128 + signal.SIGTERM)
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a worker): leave signals alone
        return lambda: None
    _default_sigterm_in_forked_children()
    return lambda: signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


_FORK_HOOK = []


def _default_sigterm_in_forked_children() -> None:
    """Pool workers (cleanlab, DataLoader) are stopped with SIGTERM: they must die at once, as they would
    without our handler, not unwind the parent's code."""
    if not _FORK_HOOK and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
        _FORK_HOOK.append(True)
