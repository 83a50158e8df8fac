"""Writing a run folder atomically: everything goes to a temporary sibling, renamed when complete."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import RunDirError

__all__ = ["atomic_run_dir", "check_out_dir", "write_json", "read_json"]


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse to clobber an existing run before any model work starts.

    Even with --overwrite only a run folder (or an empty one) is replaced: `--out ~ --overwrite`
    must not delete a home folder.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise RunDirError(f"--out {out}: already exists; choose another folder or pass --overwrite.")
    if out.exists() and not out.is_dir():
        raise RunDirError(f"--out {out}: exists and is not a folder.")
    if out.exists() and not (out / "run.json").is_file() and any(out.iterdir()):
        raise RunDirError(
            f"--out {out}: is not a run folder (no run.json) and not empty; --overwrite only replaces run folders."
        )


@contextmanager
def atomic_run_dir(out: Path, overwrite: bool = False):
    """Yield a temporary folder; on success it replaces `out` in one rename, on failure it is removed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    check_out_dir(out, overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with _signals_held():
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
        else:
            old = None
            os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    os.chmod(out, 0o755)


@contextmanager
def _signals_held():
    """Ctrl-C or SIGTERM between the two renames would leave no run folder at all: hold them till done."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # not POSIX, or not allowed here
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def write_json(path: Path, obj) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=_default) + "\n", encoding="utf-8")


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _default(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
