"""Applying annotators' corrections: validate the CSV, write a cleaned copy of the data and a change log.

The corrections CSV is the suspects.csv that `run`/`export` wrote, filled in by annotators: rows may be
re-ordered or dropped; `corrected_label` blank keeps the label, a class name relabels, `DELETE` drops the
example. Every row is checked before anything is written; the original data file is never touched.
Row numbers in messages are spreadsheet rows (the header is row 1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DataConfig
from ..data import check_utf8
from ..errors import DataError, RunDirError
from .export import neutralise_formula

__all__ = ["Correction", "read_corrections", "apply_corrections", "DELETE", "CLEANED_EXTENSIONS"]

DELETE = "DELETE"
# Output names come from this table only, never from the dataset's name, so they stay inside --out.
CLEANED_EXTENSIONS = {"csv": "csv", "tsv": "tsv", "json": "json", "jsonl": "jsonl", "parquet": "parquet",
                      "text": "txt", "hub": "parquet"}
_REQUIRED = ("id", "corrected_label")


@dataclass(frozen=True)
class Correction:
    position: int  # row position in the audited data
    row: int  # spreadsheet row in the corrections file
    new_label: str | None  # None = drop the example


def read_corrections(path, result) -> list[Correction]:
    """Parse and validate a corrections CSV against a loaded run; only rows that change something are kept."""
    path = Path(path)
    frame = _read_csv(path)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: column {missing[0]!r} not found; columns are {list(frame.columns)}. "
                        "Expected the suspects.csv columns (id, ..., corrected_label, note).")
    ids = _id_index(result)
    classes = {str(c) for c in result.class_names}
    corrections, errors, first_row = [], [], {}
    for i, (raw_id, raw_label) in enumerate(zip(frame["id"].tolist(), frame["corrected_label"].tolist())):
        row = i + 2
        try:
            position = _resolve_id(raw_id, ids, row)
            if position in first_row:
                raise DataError(f"row {row}: id {raw_id.strip()!r} appears again (first at row {first_row[position]}); "
                                "give each id once")
            first_row[position] = row
            new_label = _resolve_label(raw_label, classes, row)
        except DataError as exc:
            errors.append(str(exc))
            continue
        if new_label != "":
            corrections.append(Correction(position, row, new_label))
    if errors:
        more = f" (and {len(errors) - 1} more row(s) with problems)" if len(errors) > 1 else ""
        raise DataError(f"{path}: {errors[0]}{more}; nothing was written.")
    return corrections


def apply_corrections(run_dir, corrections_path, out=None, overwrite: bool = False) -> dict:
    """Write `cleaned.<ext>` (the run's input with corrections applied) and `changes.csv` into `out`."""
    from ..result import load_run

    run_dir = Path(run_dir)
    result = load_run(run_dir)
    if result.metrics.get("task") == "multi-label":  # hook: label sets (auditor.multilabel)
        from ..multilabel.apply import apply_multilabel_corrections

        return apply_multilabel_corrections(result, run_dir, corrections_path, out, overwrite)
    corrections = read_corrections(corrections_path, result)
    data = _reload_input(result, run_dir)
    out = Path(out) if out is not None else run_dir
    cleaned_path = out / f"cleaned.{CLEANED_EXTENSIONS[data.format]}"
    changes_path = out / "changes.csv"
    for target in (cleaned_path, changes_path):
        if target.exists() and not overwrite:
            raise RunDirError(f"{target}: already exists; pass --overwrite to replace it or choose --out.")
    changes = _changes(result, corrections)
    cleaned = _cleaned_frame(data, changes)
    out.mkdir(parents=True, exist_ok=True)
    _write_together({cleaned_path: lambda p: _write_data(cleaned, data, p),
                     changes_path: lambda p: _write_changes(changes, p)})
    relabelled = int((changes["change"] == "relabelled").sum())
    return {"cleaned": cleaned_path, "changes": changes_path, "relabelled": relabelled,
            "dropped": len(changes) - relabelled, "rows": len(cleaned), "input_rows": len(data)}


# -------------------------------------------------------------------------------------------- reading


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    raw = path.read_bytes()
    check_utf8(raw, path, expected="a UTF-8 CSV", save_as="'CSV UTF-8'")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as CSV: {detail}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _id_index(result) -> dict[str, int]:
    return {str(v): i for i, v in enumerate(result.scores["id"].tolist())}


def _unneutralise(value: str) -> str:
    """Undo the apostrophe that suspects.csv put in front of formula-like cells."""
    if value.startswith("'") and value[1:].startswith(("=", "+", "-", "@", "\t", "\r")):
        return value[1:]
    return value


def _resolve_id(raw, ids: dict[str, int], row: int) -> int:
    value = str(raw).strip()
    if not value:
        raise DataError(f"row {row}: the id is empty")
    for candidate in (value, _unneutralise(value), _integral(value)):
        if candidate is not None and candidate in ids:
            return ids[candidate]
    raise DataError(f"row {row}: id {value!r} is not in the run ({len(ids):,} examples)")


def _integral(value: str) -> str | None:
    # A spreadsheet may turn the id 12 into 12.0.
    try:
        number = float(value)
    except ValueError:
        return None
    return str(int(number)) if number.is_integer() else None


def _resolve_label(raw, classes: set[str], row: int) -> str | None:
    """'' = keep, a class name = relabel, DELETE = drop (None). A class literally named 'delete' wins."""
    value = str(raw).strip()
    if value == "":
        return ""
    for candidate in (value, _unneutralise(value)):
        if candidate in classes:
            return candidate
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
            and [str(x) for x in data.ids] == [str(x) for x in result.scores["id"].tolist()]
            and (given == result.scores["given_label"].astype(str).to_numpy(dtype=object)).all())
    if not same:
        raise DataError(f"{info['source']}: changed since the run in {run_dir} ({len(data):,} rows now, "
                        f"{len(result.scores):,} audited); re-run the audit; nothing was written.")
    return data


# ------------------------------------------------------------------------------------------- applying


def _changes(result, corrections: list[Correction]) -> pd.DataFrame:
    scores = result.scores
    rows = []
    for c in sorted(corrections, key=lambda c: c.position):
        old = str(scores["given_label"].iat[c.position])
        if c.new_label == old:
            continue
        rows.append({"position": c.position, "id": scores["id"].iat[c.position], "old_label": old,
                     "new_label": c.new_label or "", "change": "dropped" if c.new_label is None else "relabelled"})
    return pd.DataFrame(rows, columns=["position", "id", "old_label", "new_label", "change"])


def _cleaned_frame(data, changes: pd.DataFrame) -> pd.DataFrame:
    frame = data.frame.reset_index(drop=True).copy()
    relabel = changes[changes["change"] == "relabelled"]
    if len(relabel):
        column = frame[data.label_column].astype(object)
        for position, name in zip(relabel["position"], relabel["new_label"]):
            column.iat[int(position)] = _label_value(data, name)
        frame[data.label_column] = column
    dropped = changes.loc[changes["change"] == "dropped", "position"].astype(int).to_numpy()
    return frame.drop(index=dropped).reset_index(drop=True)


def _label_value(data, name: str):
    """The value to write for class `name` in the input's own style (string, int, or ClassLabel index)."""
    index = data.class_names.index(name)
    seen = np.flatnonzero(data.labels == index)
    if len(seen):
        return data.frame[data.label_column].iat[int(seen[0])]
    if data.format == "hub":
        return index
    return int(name) if all(_integral(c) == c for c in data.class_names) else name


# -------------------------------------------------------------------------------------------- writing


def _write_together(writers: dict) -> None:
    """Write every file under a temporary name, then rename them all: no half-written output."""
    tmps = {}
    try:
        for target, write in writers.items():
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            tmps[target] = tmp
            write(tmp)
        for target, tmp in tmps.items():
            os.replace(tmp, target)
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)


def _write_data(frame: pd.DataFrame, data, path: Path) -> None:
    fmt = data.format
    if fmt == "csv":
        frame.to_csv(path, index=False, encoding="utf-8")
    elif fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False, encoding="utf-8")
    elif fmt in ("json", "jsonl"):
        lines = fmt == "jsonl" or not Path(data.source).read_text(encoding="utf-8").lstrip().startswith("[")
        frame.to_json(path, orient="records", lines=lines, force_ascii=False)
    elif fmt == "text":
        labels = frame[data.label_column].astype(str).str.strip()
        text = "".join(f"{t};{label}\n" for t, label in zip(frame[data.text_column], labels))
        path.write_text(text, encoding="utf-8")
    else:  # parquet and Hub datasets: parquet keeps the column types
        frame.to_parquet(path, index=False)


def _write_changes(changes: pd.DataFrame, path: Path) -> None:
    table = changes.drop(columns="position").copy()
    for column in ("id", "old_label", "new_label"):
        table[column] = table[column].map(neutralise_formula)
    table.to_csv(path, index=False, encoding="utf-8-sig")
