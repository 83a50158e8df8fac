"""Applying annotators' corrections: validate them, write a cleaned copy of the data and a change log.

The corrections file is the suspects.csv that `run`/`export` wrote, filled in by annotators: rows may be
re-ordered or left out; `corrected_label` blank keeps the label, a class name relabels, `DELETE` deletes
the example; `note` is kept in changes.csv. Every row is checked before anything is written; no input file is
ever written over. Row numbers in messages are spreadsheet rows (the header is row 1).

The cleaned copy keeps the input's format, and every row nobody corrected comes out as it went in:
byte for byte in CSV, TSV, JSON Lines and `text;label` files; value for value in JSON (an array stays an
array, a dict of columns a dict of columns) and Parquet (input_formats.py). When the run had no
--id-column, a column of the ids the run used (the 0-based row positions) is added first, so the cleaned
file keeps the audit's ids: re-audit it with `--id-column id`. A `text;label` line has no room for an id
(`TEXT_IDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DataConfig
from ..data import _integral, id_text
from ..errors import DataError, RunDirError
# Output names come from the format registry only, never from the dataset's name, so they stay inside --out.
from ..input_formats import CLEANED_EXTENSIONS, INPUT_FORMATS, Edit
from ..safeio import check_target, safe_write, unneutralise, write_csv
from .export import run_inputs

__all__ = ["Correction", "read_corrections", "apply_corrections", "cleaned_copy", "cleaned_writer", "DELETE",
           "CLEANED_EXTENSIONS", "TEXT_IDS"]

DELETE = "DELETE"
# What apply says of a `text;label` input's cleaned copy (README, "What auditor promises").
TEXT_IDS = ("{name} holds no ids: a `text;label` line has no room for an id. A re-audit numbers its lines "
            "from 0 again, so after a deleted line the ids of the later lines differ from this run's.")
_ID_NAMES = ("id", "auditor_id", "auditor_row_id")  # the first not already a column names the added ids


@dataclass(frozen=True)
class Correction:
    position: int  # row position in the audited data
    row: int  # spreadsheet row in the corrections file
    new_label: str | None  # None = delete the example, "" = keep
    note: str = ""


def read_corrections(path, result, fmt: str | None = None) -> list[Correction]:
    """Parse and validate corrections (suspects.csv filled in, or a tool's export: `fmt`, else detected)
    against a loaded run; only rows that change a label or hold a note are kept."""
    return _read_checked(path, result, fmt)[0]


def _read_checked(path, result, fmt: str | None) -> tuple[list[Correction], int]:
    """(the corrections, how many rows the file holds)."""
    from .formats import read_table

    path = Path(path)
    _, frame = read_table(path, fmt)
    ids = _id_index(result)
    integer_ids = result.run.get("id_kind") == "int"
    classes = {str(c) for c in result.class_names}
    notes = frame["note"].tolist() if "note" in frame.columns else [""] * len(frame)
    corrections, errors, first_row = [], [], {}
    for row, raw_id, raw_label, note in zip(frame.index, frame["id"].tolist(), frame["corrected_label"].tolist(),
                                            notes):
        try:
            position = _resolve_id(raw_id, ids, integer_ids, row)
            if position in first_row:
                raise DataError(f"row {row}: id {raw_id!r} appears again (first at row {first_row[position]}); "
                                "give each id once")
            first_row[position] = row
            new_label = _resolve_label(raw_label, classes, row)
        except DataError as exc:
            errors.append(str(exc))
            continue
        note = unneutralise(str(note).strip()).strip()
        if new_label != "" or note:
            corrections.append(Correction(position, row, new_label, note))
    if errors:
        more = f" (and {len(errors) - 1} more row(s) with problems)" if len(errors) > 1 else ""
        raise DataError(f"{path}: {errors[0]}{more}; nothing was written.")
    return corrections, len(frame)


# Hook: `apply` for tasks other than single-label, registered by their package (auditor.multilabel.apply).
TASK_APPLIERS: dict = {}


def apply_corrections(run_dir, corrections_path, out=None, overwrite: bool = False, fmt: str | None = None) -> dict:
    """Write `cleaned.<ext>` (the run's input with corrections applied) and `changes.csv` into `out`.

    Returns the paths and counts: relabelled, deleted, kept (rows of the file left as labelled),
    rows (in the cleaned copy), input_rows, id_column (the column holding the ids in the cleaned copy, None
    for a `text;label` file) and id_note (for a `text;label` file, `TEXT_IDS`: it holds no ids; else None).
    """
    from ..result import load_run

    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir
    if out.exists() and not out.is_dir():
        raise RunDirError(f"--out {out}: is a file; expected a folder for cleaned.<ext> and changes.csv.")
    result = load_run(run_dir)
    task_apply = TASK_APPLIERS.get(result.metrics.get("task"))  # hook: label sets (auditor.multilabel.apply)
    if task_apply is not None:
        return task_apply(result, run_dir, corrections_path, out, overwrite, fmt)
    corrections, listed = _read_checked(corrections_path, result, fmt)
    data = _reload_input(result, run_dir)
    cleaned_path = out / f"cleaned.{CLEANED_EXTENSIONS[data.format]}"
    changes_path = out / "changes.csv"
    inputs = [*run_inputs(run_dir, result), Path(corrections_path)]
    if out.is_dir():
        for target in (cleaned_path, changes_path):
            check_target(target, inputs=inputs, overwrite=overwrite)
    changes = _changes(result, corrections)
    id_column = data.id_column or _free_name(data)
    relabel, deleted = _edits(changes, "new_label")
    writer = cleaned_writer(data, relabel, deleted, None if data.id_column else id_column)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"--out {out}: cannot create this folder ({exc.strerror}).") from None
    safe_write({cleaned_path: writer, changes_path: lambda handle: _write_changes(changes, handle)},
               inputs=inputs, overwrite=overwrite)
    counts = changes["change"].value_counts()
    relabelled, deleted = int(counts.get("relabelled", 0)), int(counts.get("deleted", 0))
    return {"cleaned": cleaned_path, "changes": changes_path, "relabelled": relabelled, "deleted": deleted,
            "kept": listed - relabelled - deleted,
            "rows": len(data) - deleted, "input_rows": len(data), "notes": int((changes["note"] != "").sum()),
            "id_column": id_column if data.format != "text" else None, "listed": listed,
            "id_note": TEXT_IDS.format(name=cleaned_path.name) if data.format == "text" else None}


# -------------------------------------------------------------------------------------------- reading


def _id_index(result) -> dict[str, int]:
    return {id_text(v): i for i, v in enumerate(result.scores["id"].tolist())}


def _resolve_id(raw, ids: dict[str, int], integer_ids: bool, row: int) -> int:
    """The row an id names: its text exactly as the run wrote it (after the sheet's apostrophe)."""
    value = unneutralise(str(raw))
    if not value.strip():
        raise DataError(f"row {row}: the id is empty")
    if value in ids:
        return ids[value]
    if integer_ids:  # integer ids are unique as numbers, so a spreadsheet's 12.0 or 012 still names one row
        number = _integral(value)
        if number is not None and number in ids:
            return ids[number]
    raise DataError(f"row {row}: id {value!r} is not in the run ({len(ids):,} examples)")


def _resolve_label(raw, classes: set[str], row: int) -> str | None:
    """'' = keep, a class name = relabel, DELETE = delete (None). A class literally named 'delete' wins."""
    value = unneutralise(str(raw).strip()).strip()
    if value == "":
        return ""
    if value in classes:
        return value
    if value.upper() == DELETE:
        return None
    shown = ", ".join(sorted(classes)) if len(classes) <= 20 else f"{len(classes)} classes"
    raise DataError(f"row {row}: corrected_label {value!r} is not a class; expected one of {shown}, "
                    f"{DELETE} or blank")


def _reload_input(result, run_dir: Path):
    """Re-read the run's input exactly as the run did, and check it is still the data that was audited."""
    from ..data import load_data

    info = result.run.get("data") or {}
    config = (result.run.get("config") or {}).get("data") or {}
    if info.get("format") not in CLEANED_EXTENSIONS or not info.get("source"):
        raise RunDirError(f"{run_dir}: run.json names no input file this can rewrite "
                          f"(format {info.get('format')!r}); nothing was written.")
    data = load_data(DataConfig(source=info["source"], split=config.get("split"),
                                config_name=config.get("config_name"), text_column=info.get("text_column"),
                                label_column=info.get("label_column"), id_column=info.get("id_column")))
    given = np.array([data.class_names[i] for i in data.labels], dtype=object)
    same = (len(data) == len(result.scores)
            and [id_text(x) for x in data.ids] == [id_text(x) for x in result.scores["id"].tolist()]
            and (given == result.scores["given_label"].astype(str).to_numpy(dtype=object)).all())
    if not same:
        raise DataError(f"{info['source']}: changed since the run in {run_dir} ({len(data):,} rows now, "
                        f"{len(result.scores):,} audited); re-run the audit; nothing was written.")
    return data


# ------------------------------------------------------------------------------------------- applying


def _changes(result, corrections: list[Correction]) -> pd.DataFrame:
    """One row per correction that relabels or deletes (a DELETE) a row, and per kept row with a note."""
    scores = result.scores
    rows = []
    for c in sorted(corrections, key=lambda c: c.position):
        old = str(scores["given_label"].iat[c.position])
        change = "deleted" if c.new_label is None else "relabelled" if c.new_label not in ("", old) else "kept"
        if change == "kept" and not c.note:
            continue
        rows.append({"position": c.position, "id": scores["id"].iat[c.position], "old_label": old,
                     "new_label": c.new_label if change == "relabelled" else "", "change": change, "note": c.note})
    return pd.DataFrame(rows, columns=["position", "id", "old_label", "new_label", "change", "note"])


def _edits(changes: pd.DataFrame, new: str) -> tuple[dict, set]:
    """({row position: new label (column `new`)}, {deleted row positions}) from a change log."""
    relabel = {int(p): n for p, n, c in zip(changes["position"], changes[new], changes["change"]) if c == "relabelled"}
    return relabel, {int(p) for p, c in zip(changes["position"], changes["change"]) if c == "deleted"}


def cleaned_copy(data, relabel: dict | None = None, deleted=(), add_id: str | None = None) -> bytes:
    """The bytes of the cleaned copy of `data` (AuditData read from a file), as `cleaned_writer` writes it."""
    import io

    handle = io.BytesIO()
    cleaned_writer(data, relabel or {}, set(deleted), add_id)(handle)
    return handle.getvalue()


def _free_name(data) -> str:
    columns = {str(c) for c in data.frame.columns}
    return next((n for n in _ID_NAMES if n not in columns), f"auditor_id_{len(columns)}")


def cleaned_writer(data, relabel: dict, deleted: set, add_id: str | None):
    """A function writing the cleaned copy of `data` in the input's own format to a binary handle: every row
    nobody corrected as it went in (input_formats.py). `relabel` maps row positions to the new label (a class
    name; for label sets, the set's class names), `deleted` holds row positions, `add_id` names a column to
    add holding the ids. The data says which cells a new label is written to (`label_cells`): the label
    column's for one label, a list, a joined string or 0/1 columns for label sets (MultiLabelData)."""
    cells = data.label_cells(relabel)
    return INPUT_FORMATS[data.format].rewrite(data, Edit(cells, set(deleted), add_id, data.ids))


# -------------------------------------------------------------------------------------------- writing


def _write_changes(changes: pd.DataFrame, handle) -> None:
    table = changes.drop(columns="position")
    table["id"] = table["id"].map(id_text)
    write_csv(table, handle, neutralise=True, bom=True)
