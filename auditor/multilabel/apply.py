"""Applying annotators' multi-label corrections: `corrected_labels` holds a set (labels joined by the run's
separator), `DELETE` deletes the example, blank keeps it. Every row is checked before anything is written.
The cleaned copy is written by single-label apply's writer (`cleaned_writer`): every row nobody corrected
as it went in, byte for byte in CSV, TSV and JSON Lines; a corrected row changes in its label cell(s) only,
written as the input writes sets (`MultiLabelData.label_cells`). Without an id column the run's ids are
added as one (`id`, as single-label apply does), so after a DELETE later rows keep the ids of scores.csv and
a re-audit with `--id-column id` reuses them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DataConfig
from ..errors import DataError, RunDirError
from ..annotate import apply as _apply
from ..safeio import neutralise, safe_write, unneutralise
from .data import format_set, load_multilabel, parse_set_text

__all__ = ["read_multilabel_corrections", "apply_multilabel_corrections"]

_REQUIRED = ("id", "corrected_labels")


def read_multilabel_corrections(path, result, fmt: str | None = None) -> dict[int, tuple]:
    """{row position: (spreadsheet row, new set of class indices, None = delete or "" = keep, note)} for rows
    that change a set or hold a note; `fmt`: csv, label-studio or argilla (default: detected from the file)."""
    path = Path(path)
    frame = _read_table(path, fmt, result.separator)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: column {missing[0]!r} not found; columns are {list(frame.columns)}. "
                        "Expected the multi-label suspects.csv columns (id, ..., corrected_labels, note).")
    ids = _apply._id_index(result)
    index = {str(c): j for j, c in enumerate(result.class_names)}
    sep = result.separator
    found, errors, first_row = {}, [], {}
    notes = frame["note"].tolist() if "note" in frame.columns else [""] * len(frame)
    for row, raw_id, raw, note in zip(frame.index, frame["id"].tolist(), frame["corrected_labels"].tolist(), notes):
        try:
            position = _apply._resolve_id(raw_id, ids, result.run.get("id_kind") == "int", row)
            if position in first_row:
                raise DataError(f"row {row}: id {str(raw_id).strip()!r} appears again (first at row "
                                f"{first_row[position]}); give each id once")
            first_row[position] = row
            new = _parse(raw, index, sep, row)
        except DataError as exc:
            errors.append(str(exc))
            continue
        note = unneutralise(str(note).strip()).strip()
        if new != "" or note:
            found[position] = (row, new, note)
    if errors:
        more = f" (and {len(errors) - 1} more row(s) with problems)" if len(errors) > 1 else ""
        raise DataError(f"{path}: {errors[0]}{more}; nothing was written.")
    return found


def _read_table(path: Path, fmt: str | None, separator: str) -> pd.DataFrame:
    """The corrections with rows numbered as messages name them: a spreadsheet row (the header is row 1),
    or the task/record's position in a Label Studio or Argilla export (read with the run's separator)."""
    from ..annotate.formats import detect_format, read_table
    from ..annotate.formats.csv import read_sheet

    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    if (fmt or detect_format(path)) != "csv":
        _, frame = read_table(path, fmt, separator=separator)
        return frame.rename(columns={"corrected_label": "corrected_labels"})
    frame = read_sheet(path)
    frame.index = range(2, len(frame) + 2)
    return frame


def _parse(raw, index: dict, sep: str, row: int):
    value = unneutralise(str(raw).strip())
    if value == "":
        return ""
    if value.upper() == _apply.DELETE and value not in index:
        return None
    names = parse_set_text(value, sep)
    unknown = [n for n in names if n not in index]
    if unknown or not names:
        shown = ", ".join(index) if len(index) <= 30 else f"{len(index)} labels"
        what = f"label {unknown[0]!r} is not a label" if unknown else "holds no label"
        raise DataError(f"row {row}: corrected_labels {value!r}: {what}; expected labels from {shown} joined by "
                        f"{sep!r}, {_apply.DELETE} or blank")
    return frozenset(index[n] for n in names)


def apply_multilabel_corrections(result, run_dir, corrections_path, out=None, overwrite: bool = False,
                                 fmt: str | None = None) -> dict:
    run_dir = Path(run_dir)
    corrections = read_multilabel_corrections(corrections_path, result, fmt)
    data = _reload(result, run_dir)
    out = Path(out) if out is not None else run_dir
    cleaned_path = out / f"cleaned.{_apply.CLEANED_EXTENSIONS[data.format]}"
    changes_path = out / "changes.csv"
    inputs = [Path(data.source), Path(corrections_path)]
    if out.is_dir():
        for target in (cleaned_path, changes_path):
            if target.exists() and not overwrite:
                raise RunDirError(f"{target}: already exists; pass --overwrite to replace it or choose --out.")
    changes = _changes(result, data, corrections)
    relabel, deleted = _apply._edits(changes, "new")
    names = data.class_names
    id_column = data.id_column or _apply._free_name(data)
    writer = _apply.cleaned_writer(data, {p: [names[j] for j in new] for p, new in relabel.items()}, deleted,
                                   None if data.id_column else id_column)
    out.mkdir(parents=True, exist_ok=True)
    safe_write({cleaned_path: writer, changes_path: lambda h: _write_changes(changes, h)},
               inputs=inputs, overwrite=overwrite)
    listed = len(corrections)
    return {"cleaned": cleaned_path, "changes": changes_path, "relabelled": len(relabel), "deleted": len(deleted),
            "kept": listed - len(relabel) - len(deleted), "rows": len(data) - len(deleted),
            "input_rows": len(data), "notes": int((changes["note"] != "").sum()), "id_column": id_column,
            "listed": listed, "id_note": _id_note(data, id_column)}


def _id_note(data, id_column: str) -> str | None:
    """A headerless file's added ids are its first column: a re-audit names the columns again."""
    if data.id_column or not getattr(data, "headerless", False):
        return None
    columns = ",".join([id_column, *map(str, data.frame.columns)])
    return (f"The cleaned copy has no header: its ids are its first column; re-audit with --column-names {columns} "
            f"--id-column {id_column} to keep them.")


def _reload(result, run_dir: Path):
    info = result.run.get("data") or {}
    config = (result.run.get("config") or {}).get("data") or {}
    if info.get("format") not in _apply.CLEANED_EXTENSIONS or not info.get("source"):
        raise RunDirError(f"{run_dir}: run.json names no input file this can rewrite (format {info.get('format')!r}); "
                          "nothing was written.")
    cfg = DataConfig(**{**config, "source": info["source"]})
    data = load_multilabel(cfg)
    same = (len(data) == len(result.scores)
            and [str(x) for x in data.ids] == [str(x) for x in result.scores["id"].tolist()]
            and np.array_equal(data.labels, result.labels))
    if not same:
        raise DataError(f"{info['source']}: changed since the run in {run_dir} ({len(data):,} rows now, "
                        f"{len(result.scores):,} audited); re-run the audit; nothing was written.")
    return data


def _changes(result, data, corrections) -> pd.DataFrame:
    """One row per relabelled or deleted example, and per kept one with a note (as single-label apply)."""
    names, sep, rows = data.class_names, data.separator, []
    for position in sorted(corrections):
        _, new, note = corrections[position]
        old = frozenset(np.flatnonzero(data.labels[position]).tolist())
        change = "deleted" if new is None else "relabelled" if new not in ("", old) else "kept"
        if change == "kept" and not note:
            continue
        rows.append({"position": position, "id": result.scores["id"].iat[position],
                     "old_labels": format_set(old, names, sep),
                     "new_labels": format_set(new, names, sep) if change == "relabelled" else "",
                     "change": change, "note": note, "new": new})
    return pd.DataFrame(rows, columns=["position", "id", "old_labels", "new_labels", "change", "note", "new"])


def _write_changes(changes: pd.DataFrame, handle) -> None:
    table = changes.drop(columns=["position", "new"]).copy()
    for column in ("id", "old_labels", "new_labels", "note"):
        table[column] = table[column].map(neutralise)
    handle.write(table.to_csv(index=False).encode("utf-8-sig"))
