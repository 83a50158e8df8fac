"""Annotation file formats. A format is one module in this package, named once in `_MODULES`.

Each module defines:
  NAME          the --format value
  DEFAULT_NAME  the file `export` writes in the run folder
  NEXT_STEPS    what to do with the files (format fields: data, config, run_dir); '' for none
  write(suspects, path, run_info) -> list[Path]
      `suspects` is the annotators' table (suspects.csv's columns, most suspect first); `run_info` has
      `name` (the run), `classes`, `method` and `separator` (None, or a multi-label run's: then
      `suspects` has the multi-label columns, sets joined by it); returns every file written (the first is `path`).
  read(path, separator=None) -> DataFrame
      the tool's own export as str columns id, corrected_label, note; '' = keep, DELETE = drop; with a
      `separator` (multi-label runs) a label set is its labels joined by it. The
      index is the row number that messages name (a spreadsheet row, or the task/record's position).
  matches(document) -> bool
      whether a parsed JSON document (None for a file that is not JSON) is this tool's export.
`auditor apply` validates what `read` returns exactly as it validates a CSV.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import import_module
from pathlib import Path

from ...errors import DataError, OptionError, RunDirError

__all__ = ["FORMAT_NAMES", "get_format", "detect_format", "read_table", "export_run", "run_info"]

_MODULES = {"csv": "csv", "label-studio": "label_studio", "argilla": "argilla"}
FORMAT_NAMES = tuple(_MODULES)


def get_format(name: str):
    if name not in _MODULES:
        raise OptionError(f"The 'format' option must be one of {', '.join(FORMAT_NAMES)}. Got {name!r} instead.")
    return import_module(f"{__name__}.{_MODULES[name]}")


def detect_format(path) -> str:
    """The format of an annotated file, from its content: a tool's JSON export, else CSV."""
    document = _json_document(Path(path))
    for name in FORMAT_NAMES:
        if get_format(name).matches(document):
            return name
    raise DataError(f"{path}: a JSON file that is neither a Label Studio JSON export nor Argilla records; "
                    "pass --format, or give suspects.csv filled in.")


def read_table(path, fmt: str | None = None, separator: str | None = None):
    """(format name, DataFrame of id, corrected_label, note) for `apply`; `separator`: see the module doc."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    name = fmt or detect_format(path)
    table = get_format(name).read(path, separator=separator)
    return name, table


def export_run(run_dir, fmt: str, top: int | None = None, out=None, overwrite: bool = False) -> tuple[list[Path], int]:
    """Write the run's suspects in a tool's format; returns (files written, rows).

    As every output (auditor.safeio): never over an input, nor over a file holding annotations or
    another existing file that is not this export without `overwrite`.
    """
    from ...result import load_run
    from ...safeio import check_target
    from ..export import run_inputs, scores_with_neighbours, suspect_positions, suspects_frame

    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise OptionError(f"The 'top' option must be an int >= 1. Got {top!r} instead.")
    module = get_format(fmt)
    result = load_run(run_dir)
    path = Path(out) if out is not None else Path(run_dir) / module.DEFAULT_NAME
    if not overwrite:
        _refuse_annotated(path, module)
    inputs = run_inputs(run_dir, result)
    own = _is_export(path, module)
    check_target(path, inputs=inputs, overwrite=overwrite, own=own)
    if result.metrics.get("task") == "multi-label":  # hook: label sets (auditor.multilabel)
        from ...multilabel.export import suspects_frame
    else:
        result.scores = scores_with_neighbours(result, suspect_positions(result.scores, top))
    frame = suspects_frame(result.scores, top)
    # Every file is written in a temporary sibling folder (a random name), then moved: no half-written export.
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.tmp-", dir=path.parent) as tmp:
        written = module.write(frame, Path(tmp) / path.name, run_info(result, run_dir))
        targets = [path.parent / f.name for f in written]
        for target in targets[1:]:  # the companions of an earlier export of ours are ours too
            check_target(target, inputs=inputs, overwrite=overwrite, own=own or not path.exists())
        for source, target in zip(written, targets):
            os.replace(source, target)
    return targets, len(frame)


def _is_export(path: Path, module) -> bool:
    """An existing file that reads as this format's export (without answers: those were refused)."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        module.read(path)
    except Exception:  # not this tool's file, whatever the reader's complaint
        return False
    return True


def run_info(result, run_dir) -> dict:
    multi = result.metrics.get("task") == "multi-label"
    return {"name": Path(run_dir).resolve().name, "classes": [str(c) for c in result.class_names],
            "method": str(result.metrics.get("method") or ""), "separator": result.separator if multi else None}


def _refuse_annotated(path: Path, module) -> None:
    """An export must never replace a file in which someone already recorded answers."""
    if not path.is_file():
        return
    try:
        answered = (module.read(path)["corrected_label"] != "").any()
    except DataError:
        answered = False
    if answered:
        raise RunDirError(f"{path}: already holds annotations; pass --overwrite to replace it, choose another "
                          "--out or move it away; nothing was written.")


def _json_document(path: Path):
    """The parsed JSON of a file that starts like JSON, else None."""
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace").lstrip()
    if not text.startswith(("[", "{")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def load_json(path: Path, tool: str):
    """A tool's JSON export, or the one-line error that says why it is not one."""
    from ...data import check_utf8

    raw = path.read_bytes()
    check_utf8(raw, path, expected=f"a {tool} JSON export", save_as="UTF-8")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except ValueError as exc:
        raise DataError(f"{path}: cannot be read as {tool} JSON: {exc}") from None


def answers_frame(rows: list[tuple[object, str, str]], start: int = 1):
    """(id, corrected_label, note) tuples → the DataFrame `read` returns, rows numbered from `start`."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["id", "corrected_label", "note"], dtype=object)
    frame = frame.fillna("").astype(str) if len(frame) else frame.astype(str)
    frame.index = range(start, start + len(frame))
    return frame
