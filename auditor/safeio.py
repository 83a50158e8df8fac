"""Every file the tool writes goes through here: one CSV path (quoted, formula-neutralised) and one safe write.

Promises (README "What auditor promises"):
- A file appears whole or not at all: it is written to a temporary file with a random name created
  exclusively (O_EXCL) in the destination folder, then renamed over the target. A symbolic link at the
  target is replaced, never followed.
- A folder (a run folder, a saved model) appears whole or not at all: it is written under a temporary
  name beside its target, then renamed into place (`folder_into_place`).
- No command writes over a file it read from, even with --overwrite, and none replaces an existing
  file that is not its own output without --overwrite.
- Spreadsheet-facing CSVs (suspects.csv, changes.csv, scores.csv) quote every text field (so a CR, LF or
  separator inside a cell cannot split a row) and put an apostrophe in front of any cell a spreadsheet
  could run as a formula: one starting with = + - @, also after leading spaces, tabs, CR or LF, one
  starting with a tab, CR or LF, and one that already starts with an apostrophe. The last rule keeps the
  mapping one-to-one: `'-neg` is written `''-neg` and `-neg` is written `'-neg`, so `unneutralise`
  gives back exactly the value that was written and two classes never read the same.
"""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RunDirError

__all__ = ["neutralise", "unneutralise", "neutralise_frame", "write_csv", "safe_write", "check_target", "same_file",
           "plain", "folder_into_place"]

# A cell a spreadsheet could evaluate, or one that would be ambiguous once an apostrophe is added.
_NEEDS_PREFIX = re.compile(r"^(?:['\t\r\n]|[ \t\r\n]*[=+\-@])")


def neutralise(value):
    """`value` with an apostrophe in front when a spreadsheet could run it (see the module docstring)."""
    if isinstance(value, str) and _NEEDS_PREFIX.match(value):
        return "'" + value
    return value


def unneutralise(value):
    """The exact inverse of `neutralise` on what it wrote; other text comes back unchanged."""
    if isinstance(value, str) and value.startswith("'") and _NEEDS_PREFIX.match(value[1:]):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell (and column name) neutralised; numbers and booleans are left alone."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            values = out[column].astype(object)
            risky = _risky(values)
            if risky.any():
                values = values.copy()
                values[risky] = "'" + values[risky]
                out[column] = values
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _risky(values: pd.Series) -> np.ndarray:
    """Which cells `neutralise` changes; arrow's regex engine runs ~10x faster than Python's on a million."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: one cell at a time
        return values.str.match(_NEEDS_PREFIX.pattern, na=False).to_numpy(dtype=bool)
    return pc.fill_null(pc.match_substring_regex(array, _NEEDS_PREFIX.pattern), False).to_numpy(zero_copy_only=False)


def write_csv(frame: pd.DataFrame, handle, *, neutralise: bool = True, sep: str = ",", bom: bool = False) -> None:
    """The one CSV writer: every text field quoted, booleans as True/False, to a binary `handle`.

    pyarrow's writer is ~10x faster than pandas' on a million rows (benchmarks/scale.py) and quotes every
    string, so no CR, LF or separator in a value can end a row; columns arrow cannot write (lists, mixed
    objects) fall back to pandas with every non-number quoted.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if neutralise:
        frame = neutralise_frame(frame)
    if bom:  # utf-8-sig: the BOM makes Excel read UTF-8 instead of the local code page
        handle.write(b"\xef\xbb\xbf")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for i, column in enumerate(table.schema):
            if pa.types.is_boolean(column.type):
                text = pa.array(np.where(table.column(i).to_numpy(zero_copy_only=False), "True", "False"))
                table = table.set_column(i, column.name, text)
        pa_csv.write_csv(table, handle, write_options=pa_csv.WriteOptions(delimiter=sep))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        frame.to_csv(handle, index=False, sep=sep, quoting=csv.QUOTE_NONNUMERIC, encoding="utf-8")


def plain(value, *, finite: bool = False, cell: bool = False):
    """A numpy scalar as the Python value it holds (np.int64(3) -> 3); any other value as it is.

    `finite`: NaN and ±inf become None (JSON has no NaN; Label Studio and Argilla read null).
    `cell`: a value for the report's JavaScript: integers and text stay, missing (None, NaN) is None and
    any other value is shown as its text, as is an integer past 2^53, which a JavaScript number would round
    (9007199254741137 would show as ...136).
    """
    python = value.item() if isinstance(value, np.generic) else value
    if cell:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        exact = isinstance(python, str) or (
            isinstance(python, int) and not isinstance(python, bool) and abs(python) <= 2**53)
        return python if exact else str(value)
    if finite and isinstance(python, float) and not math.isfinite(python):
        return None
    return python


def same_file(a, b) -> bool:
    """True when `a` and `b` name the same existing file (through links, `..` or another spelling)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_target(path, *, inputs=(), overwrite: bool = False, own: bool = False, option: str = "--out") -> Path:
    """Refuse, before any work, a target that is an input, a folder, in no folder, or someone else's file.

    `own`: the existing file is this tool's output (replaced without --overwrite). Returns the path.
    """
    path = Path(path)
    where = f"{option} {path}" if option else str(path)
    for item in filter(None, inputs):
        if same_file(path, item):
            raise RunDirError(f"{where}: is an input of this command ({item}); it is never written over. "
                              "Choose another name.")
    parent = Path(os.path.abspath(path)).parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise RunDirError(f"{where}: the folder {parent} {what}; expected a file in an existing folder.")
    if path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            raise RunDirError(f"{where}: is a folder; expected a file name.")
        if not (own or overwrite):
            raise RunDirError(f"{where}: already exists and was not written by auditor; "
                              "pass --overwrite to replace it or choose another name.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunDirError(f"{where}: cannot write in {parent} (permission denied).")
    return path


def safe_write(targets: dict, *, inputs=(), overwrite: bool = False, own=(), option: str = "--out") -> None:
    """Write every `{path: write(binary_handle)}` to a fresh temporary file, then rename them all into place.

    Every target is checked first (`check_target`); nothing is renamed unless every file was written.
    `own`: paths whose existing file is this tool's output.
    """
    own_set = {os.path.abspath(p) for p in own}
    paths = [check_target(p, inputs=inputs, overwrite=overwrite, own=os.path.abspath(p) in own_set, option=option)
             for p in targets]
    temporaries: list[str] = []
    try:
        for path, write in zip(paths, targets.values()):
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
            temporaries.append(tmp)
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644 & ~_umask())
        for path, tmp in zip(paths, temporaries):
            os.replace(tmp, path)
    except OSError as exc:
        raise RunDirError(f"{option} {paths[len(temporaries) - 1] if temporaries else paths[0]}: cannot be written "
                          f"({exc.strerror or exc}); nothing was written.") from None
    finally:
        for tmp in temporaries:
            if os.path.lexists(tmp):
                os.unlink(tmp)


@contextmanager
def folder_into_place(target):
    """Yield a fresh private folder beside `target` (`.NAME.tmp-*`, a random name); when the block ends
    without an error it becomes `target` in one rename, else it is removed and `target` is left as it was.

    An existing `target` first moves into a fresh `.NAME.old-*` folder (a random name nobody could plant a
    link at) and is removed once the new one is in place.
    """
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    holder = None
    try:
        yield tmp
        with _signals_held():
            if target.exists():
                holder = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, holder / "old")
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if holder is not None:
        shutil.rmtree(holder, ignore_errors=True)


@contextmanager
def _signals_held():
    """Ctrl-C or SIGTERM between the two renames would leave no folder at all: hold them till done."""
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
