"""AuditResult: the scores table, metrics and run facts; saved to and loaded from a run folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RunDirError
from .rundir import RUN_MARKER, RUN_SCHEMA, atomic_run_dir, read_json, write_json
from .safeio import safe_write, unneutralise
from .safeio import write_csv as _csv

__all__ = ["AuditResult", "load_run"]


@dataclass
class AuditResult:
    """The outcome of one audit. `scores` has one row per example, in input order, keyed by `id`."""

    scores: pd.DataFrame
    metrics: dict
    run: dict
    class_names: tuple[str, ...]
    embeddings: np.ndarray | None = field(default=None, repr=False)

    @property
    def pred_probs(self) -> np.ndarray:
        return self.scores[[prob_column(c) for c in self.class_names]].to_numpy()

    @property
    def labels(self) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.class_names)}
        return self.scores["given_label"].map(index).to_numpy(dtype=np.int64)

    def suspects(self, top: int | None = 50) -> pd.DataFrame:
        """The `top` most suspect rows (flagged or not), most suspect first."""
        ranked = self.scores.sort_values("rank", kind="stable")
        return ranked.head(top) if top is not None else ranked[ranked["is_label_issue"]]

    def confusion_matrix(self, normalize: bool = True) -> pd.DataFrame:
        key = "confusion_matrix_normalized" if normalize else "confusion_matrix"
        names = list(self.class_names)
        return pd.DataFrame(self.metrics[key], index=pd.Index(names, name="given"), columns=pd.Index(names, name="predicted"))

    def plot_confusion_matrix(self, ax=None, normalize: bool = True):
        """The book's normalised confusion matrix of out-of-sample predictions; returns the Axes."""
        from .report.plots import plot_confusion_matrix

        return plot_confusion_matrix(self.confusion_matrix(normalize).to_numpy(), self.class_names, ax)

    def to_html(self, path) -> Path:
        """Write the self-contained HTML report (the run folder's report.html) to `path`."""
        from .report.html import write_report

        return write_report(self, Path(path))

    def export_suspects(self, path, top: int | None = None, overwrite: bool = False) -> Path:
        """Write the annotators' CSV (suspects.csv's format); `top` rows, or every flagged row.

        An existing file is replaced only with `overwrite` (and never one holding annotations without it).
        """
        from .report.export import annotated_rows, suspects_frame, write_suspects

        path = Path(path)
        own = path.is_file() and not path.is_symlink() and annotated_rows(path) == 0
        frame = suspects_frame(self.scores, top)
        safe_write({path: lambda handle: write_suspects(frame, handle)}, overwrite=overwrite,
                   own=[path] if own else [], option="path")
        return path

    def _repr_html_(self) -> str:
        """A compact summary and the top suspects, for Jupyter; every dataset string is escaped."""
        from html import escape

        m = self.metrics
        head = (
            f"<p><b>auditor</b>: {m['n']} examples, {len(self.class_names)} classes, method "
            f"{escape(str(m.get('method')))}; accuracy {m['accuracy']:.3f}, weighted F1 {m['f1_weighted']:.3f}; "
            f"{m['label_issues']} suspected label issues ({m['label_issue_share']:.1%})</p>"
        )
        columns = ["rank", "id", "given_label", "suggested_label", "suggested_label_probability", "text", "reasons"]
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(_fmt(row[c]))}</td>" for c in columns) + "</tr>"
            for _, row in self.suspects(10).iterrows()
        )
        header = "".join(f"<th>{escape(c)}</th>" for c in columns)
        return f"<div>{head}<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></div>"

    def __repr__(self) -> str:
        m = self.metrics
        return (f"AuditResult(n={m['n']}, classes={len(self.class_names)}, method={m.get('method')!r}, "
                f"accuracy={m['accuracy']:.3f}, label_issues={m['label_issues']})")

    def save(self, out, overwrite: bool = False) -> Path:
        """Write scores.csv/.parquet, metrics.json, run.json, suspects.csv and report.html into `out`."""
        out = Path(out)
        with atomic_run_dir(out, overwrite) as tmp:
            write_run_files(self, tmp)
        return out


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def prob_column(class_name: str) -> str:
    return f"prob_{class_name}"


def write_run_files(result: AuditResult, folder: Path) -> None:
    from .report.export import suspects_frame, write_suspects

    # `folder` is a fresh private folder (mkdtemp): files are created exclusively, never over anything.
    with open(folder / "scores.csv", "xb") as handle:
        _csv(result.scores, handle, neutralise=True)
    _to_parquet(result.scores, folder / "scores.parquet")
    write_json(folder / "metrics.json", result.metrics)
    write_json(folder / "run.json", {RUN_MARKER: RUN_SCHEMA, **result.run})
    with open(folder / "suspects.csv", "xb") as handle:
        write_suspects(suspects_frame(result.scores), handle)
    if result.embeddings is not None:
        np.save(folder / "embeddings.npy", result.embeddings)
    _write_report(result, folder)


def write_csv(frame: pd.DataFrame, path: Path, neutralise: bool = False) -> None:
    """`frame` as CSV at `path` through the one CSV path (`auditor.safeio.write_csv`)."""
    with open(path, "wb") as handle:
        _csv(frame, handle, neutralise=neutralise)


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    copy = frame.copy()
    # Parquet needs one type per column; ids may be ints or strings.
    if copy["id"].dtype == object:
        copy["id"] = copy["id"].astype(str)
    copy.to_parquet(path, index=False)


def _write_report(result: AuditResult, folder: Path) -> None:
    try:
        from .report.html import write_report
    except ImportError:  # the HTML report lands with its own module
        return
    write_report(result, folder / "report.html")


def load_run(folder) -> AuditResult:
    """Reopen a saved run folder; a damaged one is a RunDirError naming the file and what is wrong."""
    from .resume import incomplete_reason

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
    embeddings = None
    if (folder / "embeddings.npy").is_file():
        try:
            embeddings = np.load(folder / "embeddings.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{folder / 'embeddings.npy'}: cannot be read ({exc}); a damaged run folder.") from None
    return AuditResult(scores=scores, metrics=metrics, run=run, class_names=tuple(classes), embeddings=embeddings)


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
        raise RunDirError(f"{name}: cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                          "a damaged run folder.") from None
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
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
