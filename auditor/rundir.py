"""Writing a run folder atomically: everything goes to a temporary sibling, renamed when complete."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import RunDirError

__all__ = ["atomic_run_dir", "check_out_dir", "write_json", "read_json"]


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse to clobber an existing run before any model work starts."""
    if out.exists() and not overwrite:
        raise RunDirError(f"--out {out}: already exists; choose another folder or pass --overwrite.")
    if out.exists() and not out.is_dir():
        raise RunDirError(f"--out {out}: exists and is not a folder.")


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
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)
    os.chmod(out, 0o755)


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
