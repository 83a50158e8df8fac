"""Writing a run folder atomically: everything goes to a temporary sibling, renamed when complete."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

from .errors import RunDirError
from .safeio import folder_into_place

__all__ = ["atomic_run_dir", "check_out_dir", "is_run_folder", "foreign_entries", "write_json", "read_json",
           "RUN_FILES", "RUN_MARKER", "RUN_SCHEMA"]

# Written into every run.json (finished or not): what makes a folder a run folder, with its contents below.
RUN_MARKER, RUN_SCHEMA = "auditor_run", 1
# Names the tool writes into a run folder (`run`, `export`, `report`, `apply`, `--save-model`, `--resume`);
# commands that add a file to run folders add its name here, or replacing such a folder is refused.
RUN_FILES = ["run.json", "metrics.json", "scores.csv", "scores.parquet", "suspects.csv", "report.html",
             "embeddings.npy", "model", "INCOMPLETE", ".partial", "changes.csv", "cleaned.*",
             ".*.tmp-*", ".*.tmp"]  # temporaries a killed process may leave behind


def is_run_folder(folder) -> bool:
    """A folder this tool wrote: its run.json is the tool's (marker, or the fields every version wrote) and
    it holds what a run writes (scores.csv, or the marker and state of an unfinished run)."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir() or not (folder / "run.json").is_file():
        return False
    try:
        run = read_json(folder / "run.json")
    except (ValueError, OSError):
        run = None
    ours = isinstance(run, dict) and (run.get(RUN_MARKER) == RUN_SCHEMA or {"complete", "config", "command"} <= set(run))
    contents = any((folder / name).exists() for name in ("scores.csv", "INCOMPLETE", ".partial"))
    return ours and contents


def foreign_entries(folder) -> list[str]:
    """Entries of a folder that the tool does not write into run folders (sorted)."""
    return sorted(p.name for p in Path(folder).iterdir() if not any(fnmatch(p.name, n) for n in RUN_FILES))


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse, before any model work starts, an --out that cannot be written or must not be replaced.

    An empty folder is a fine --out. Even with --overwrite only a run folder is replaced, and only
    when it holds nothing but what the tool writes: `--out ~ --overwrite` must not delete a home folder,
    nor `--out PROJECT --overwrite` a project's notes that sit beside a run.json.
    """
    out = Path(out)
    where = f"--out {out}"
    if out.is_symlink():
        raise RunDirError(f"{where}: is a symbolic link; give the folder it points to.")
    absolute = os.path.abspath(out)
    cwd = os.getcwd()
    if out.exists() and (cwd == absolute or cwd.startswith(absolute.rstrip(os.sep) + os.sep)):
        raise RunDirError(f"{where}: is the current folder or holds it, which a run cannot replace; "
                          "run from its parent folder with --out NAME, or give a new folder.")
    _check_parent(Path(absolute), where)
    if not out.exists():
        return
    if not out.is_dir():
        raise RunDirError(f"{where}: exists and is not a folder.")
    if not any(out.iterdir()):
        return  # an empty folder: nothing to replace
    if not overwrite:
        raise RunDirError(f"{where}: already exists; choose another folder or pass --overwrite.")
    if not is_run_folder(out):
        raise RunDirError(f"{where}: is not a run folder (no run.json written by auditor) and not empty; "
                          "--overwrite only replaces run folders.")
    foreign = foreign_entries(out)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise RunDirError(f"{where}: holds files auditor did not write ({shown}); --overwrite would delete them. "
                          "Move them out or choose another folder.")


def _check_parent(absolute: Path, where: str) -> None:
    """The nearest existing folder above --out must be a folder we may write in."""
    parent = absolute.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise RunDirError(f"{where}: {parent} is a file, not a folder.")
    try:  # os.access says yes to root everywhere; creating (and removing) a folder is the real test
        os.rmdir(tempfile.mkdtemp(prefix=".auditor-probe-", dir=parent))
    except OSError as exc:
        raise RunDirError(f"{where}: cannot create a folder in {parent} ({exc.strerror}).") from None


@contextmanager
def atomic_run_dir(out: Path, overwrite: bool = False):
    """Yield a temporary folder; on success it replaces `out` in one rename, on failure it is removed."""
    out = Path(os.path.abspath(out))  # `--out .` or `x/..` have no name to build a sibling from
    check_out_dir(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"--out {out}: cannot create {out.parent} ({exc.strerror}).") from None
    with folder_into_place(out) as tmp:
        yield tmp
    os.chmod(out, 0o755)


def json_text(obj) -> str:
    """The run folder's JSON spelling (numpy values as plain numbers)."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=_default) + "\n"


def write_json(path: Path, obj) -> None:
    Path(path).write_text(json_text(obj), encoding="utf-8")


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
