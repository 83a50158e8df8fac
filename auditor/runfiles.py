"""A run folder's data files: scores.csv/.parquet, metrics.json, run.json, embeddings.npy.

Reading and writing them is kept apart from `AuditResult` (which adds the report and the suspects
CSV), so that the annotator files can read a run without importing the result, and no import circles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RunDirError, first_line
from .resume import incomplete_reason
from .rundir import RUN_MARKER, RUN_SCHEMA, read_json, write_json
from .safeio import safe_write, unneutralise
from .safeio import write_csv as _csv

__all__ = ["read_run", "write_run_files", "write_csv", "prob_column"]


def write_run_files(result, folder: Path) -> None:
    """The data files of a result (anything with scores, metrics, run, embeddings) into `folder`.

    `folder` is a fresh private folder (mkdtemp): files are created exclusively, never over anything.
    """
    with open(folder / "scores.csv", "xb") as handle:
        _csv(result.scores, handle, neutralise=True)
    _to_parquet(result.scores, folder / "scores.parquet")
    write_json(folder / "metrics.json", result.metrics)
    write_json(folder / "run.json", {RUN_MARKER: RUN_SCHEMA, **result.run})
    if result.embeddings is not None:
        np.save(folder / "embeddings.npy", result.embeddings)


def write_csv(frame: pd.DataFrame, path: Path, neutralise: bool = True, overwrite: bool = False, inputs=()) -> None:
    """`frame` as a spreadsheet-safe CSV at `path`, through the one CSV path and the one safe write
    (never over one of `inputs`)."""
    safe_write({Path(path): lambda handle: _csv(frame, handle, neutralise=neutralise)}, overwrite=overwrite,
               own=[path] if _is_own_csv(path) else [], inputs=inputs)


def _is_own_csv(path) -> bool:
    """A CSV this tool wrote before (compare's table, scores.csv): replaced without --overwrite."""
    path = Path(path)
    return path.is_file() and not path.is_symlink() and path.suffix.lower() == ".csv" and path.stat().st_size > 0 \
        and _header(path).startswith(('"id"', '"rank"', '"status"'))


def _header(path: Path) -> str:
    with open(path, "rb") as handle:
        return handle.read(64).decode("utf-8", "replace").lstrip("\ufeff")


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    copy = frame.copy()
    # Parquet needs one type per column; ids may be ints or strings.
    if copy["id"].dtype == object:
        copy["id"] = copy["id"].astype(str)
    copy.to_parquet(path, index=False)


def read_run(folder) -> dict:
    """A finished run folder's parts: scores, metrics, run, class_names, embeddings (AuditResult's fields).

    A damaged folder is a RunDirError naming the file and what is wrong.
    """
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
    metrics = _read_dict(folder / "metrics.json")
    run = _read_dict(folder / "run.json")
    classes = metrics.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise RunDirError(f"{folder / 'metrics.json'}: 'classes' is {classes!r}; expected a list of class names "
                          "(a damaged run folder: run the audit again).")
    scores = _read_scores(folder, run)
    if metrics.get("noise") is None and run.get("task") != "multi-label":  # written before runs recorded it
        metrics["noise"] = _noise_estimate(scores, classes)
    embeddings = None
    if (folder / "embeddings.npy").is_file():
        try:
            embeddings = np.load(folder / "embeddings.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{folder / 'embeddings.npy'}: cannot be read ({exc}); a damaged run folder.") from None
    return dict(scores=scores, metrics=metrics, run=run, class_names=tuple(classes), embeddings=embeddings)


def prob_column(class_name: str) -> str:
    """The scores column of a class's out-of-sample probability."""
    return f"prob_{class_name}"


def _noise_estimate(scores: pd.DataFrame, classes: list[str]) -> dict | None:
    """cleanlab's noise estimate (`metrics.noise_estimate`) from the saved scores, for a run folder written
    before metrics.json held it: computed once here, so the report only renders. None without probabilities."""
    from .metrics import noise_estimate

    columns = [prob_column(c) for c in classes]
    if not set(columns) <= set(scores.columns):
        return None
    labels = scores["given_label"].astype(str).map({c: i for i, c in enumerate(classes)})
    if labels.isna().any():
        return None
    return noise_estimate(labels.to_numpy(dtype=np.int64), scores[columns].to_numpy(), list(classes))


SCORE_COLUMNS = ("id", "text", "given_label", "suggested_label", "suggested_label_probability", "loss_score",
                 "label_quality_score", "is_label_issue", "rank", "reasons")
_TEXT_COLUMNS = ("id", "text", "given_label", "predicted_label", "suggested_label", "reasons")


def _read_dict(path: Path) -> dict:
    try:
        value = read_json(path)
    except (ValueError, OSError) as exc:
        raise RunDirError(f"{path}: cannot be read as JSON ({exc}); a damaged run folder.") from None
    if not isinstance(value, dict):
        raise RunDirError(f"{path}: holds a JSON {type(value).__name__}; expected an object (a damaged run folder).")
    return value


def _read_scores(folder: Path, run: dict) -> pd.DataFrame:
    parquet, csv_path = folder / "scores.parquet", folder / "scores.csv"
    try:
        if parquet.is_file():
            scores = pd.read_parquet(parquet)
        else:  # the CSV is neutralised for spreadsheets: undo it, and keep text columns as text
            dtypes = {c: str for c in _TEXT_COLUMNS}
            scores = pd.read_csv(csv_path, keep_default_na=False, dtype=dtypes, encoding="utf-8")
            scores.columns = [unneutralise(c) for c in scores.columns]
            for column in scores.columns:
                if scores[column].dtype == object:
                    scores[column] = scores[column].map(unneutralise)
    except Exception as exc:  # pyarrow and the CSV parser raise many types for a damaged file
        name = parquet if parquet.is_file() else csv_path
        raise RunDirError(f"{name}: cannot be read ({type(exc).__name__}: {first_line(exc)}); "
                          "a damaged run folder.") from None
    required = SCORE_COLUMNS
    if run.get("task") == "multi-label":  # hook: label sets (auditor.multilabel)
        from .multilabel.scoring import SCORE_COLUMNS as required
    missing = [c for c in required if c not in scores.columns]
    if missing:
        raise RunDirError(f"{folder}: the scores lack column(s) {', '.join(missing)}; a damaged run folder.")
    if run.get("id_kind") == "int":
        try:
            scores["id"] = scores["id"].astype(np.int64)
        except (ValueError, TypeError, OverflowError):
            raise RunDirError(f"{folder}: run.json says the ids are integers but the scores hold others.") from None
    else:
        scores["id"] = scores["id"].astype(str).astype(object)
    return scores
