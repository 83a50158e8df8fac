"""A run folder's data files: scores.csv/.parquet, metrics.json, run.json, embeddings.npy.

Reading and writing them is kept apart from `AuditResult` (which adds the report and the suspects
CSV), so that the annotator files can read a run without importing the result, and no import circles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RunDirError
from .resume import incomplete_reason
from .rundir import read_json, write_json

__all__ = ["read_run", "write_run_files", "write_csv"]


def write_run_files(result, folder: Path) -> None:
    """The data files of a result (anything with scores, metrics, run, embeddings) into `folder`."""
    write_csv(result.scores, folder / "scores.csv")
    _to_parquet(result.scores, folder / "scores.parquet")
    write_json(folder / "metrics.json", result.metrics)
    write_json(folder / "run.json", result.run)
    if result.embeddings is not None:
        np.save(folder / "embeddings.npy", result.embeddings)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """pyarrow's CSV writer: ~10x faster than pandas' on a million rows (benchmarks/scale.py).

    Booleans are written True/False, as pandas writes them; columns arrow cannot put in a CSV
    (lists, mixed objects) fall back to pandas.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for i, column in enumerate(table.schema):
            if pa.types.is_boolean(column.type):
                text = pa.array(np.where(table.column(i).to_numpy(zero_copy_only=False), "True", "False"))
                table = table.set_column(i, column.name, text)
        pa_csv.write_csv(table, path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        frame.to_csv(path, index=False)


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    copy = frame.copy()
    # Parquet needs one type per column; ids may be ints or strings.
    if copy["id"].dtype == object:
        copy["id"] = copy["id"].astype(str)
    copy.to_parquet(path, index=False)


def read_run(folder) -> dict:
    """A finished run folder's parts: scores, metrics, run, class_names, embeddings (AuditResult's fields)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunDirError(f"{folder}: no such run folder.")
    reason = incomplete_reason(folder)
    if reason:
        raise RunDirError(f"{folder}: not a finished run ({reason}).")
    needed = ["scores.csv", "metrics.json", "run.json"]
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        raise RunDirError(f"{folder}: not a complete run folder (missing {', '.join(missing)}).")
    metrics = read_json(folder / "metrics.json")
    run = read_json(folder / "run.json")
    if (folder / "scores.parquet").is_file():
        scores = pd.read_parquet(folder / "scores.parquet")
    else:
        scores = pd.read_csv(folder / "scores.csv", keep_default_na=False)
    if run.get("id_kind") == "int":
        scores["id"] = scores["id"].astype(np.int64)
    embeddings = np.load(folder / "embeddings.npy") if (folder / "embeddings.npy").is_file() else None
    return dict(scores=scores, metrics=metrics, run=run, class_names=tuple(metrics["classes"]), embeddings=embeddings)
