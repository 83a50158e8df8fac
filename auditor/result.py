"""AuditResult: the scores table, metrics and run facts; saved to and loaded from a run folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RunDirError
from .rundir import atomic_run_dir, read_json, write_json

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

    def export_suspects(self, path, top: int | None = None) -> Path:
        """Write the annotators' CSV (suspects.csv's format); `top` rows, or every flagged row."""
        from .report.export import suspects_frame, write_suspects

        write_suspects(suspects_frame(self.scores, top), Path(path))
        return Path(path)

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

    write_csv(result.scores, folder / "scores.csv")
    _to_parquet(result.scores, folder / "scores.parquet")
    write_json(folder / "metrics.json", result.metrics)
    write_json(folder / "run.json", result.run)
    write_suspects(suspects_frame(result.scores), folder / "suspects.csv")
    if result.embeddings is not None:
        np.save(folder / "embeddings.npy", result.embeddings)
    _write_report(result, folder)


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


def _write_report(result: AuditResult, folder: Path) -> None:
    try:
        from .report.html import write_report
    except ImportError:  # the HTML report lands with its own module
        return
    write_report(result, folder / "report.html")


def load_run(folder) -> AuditResult:
    """Reopen a saved run folder."""
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
    metrics = read_json(folder / "metrics.json")
    run = read_json(folder / "run.json")
    if (folder / "scores.parquet").is_file():
        scores = pd.read_parquet(folder / "scores.parquet")
    else:
        scores = pd.read_csv(folder / "scores.csv", keep_default_na=False)
    if run.get("id_kind") == "int":
        scores["id"] = scores["id"].astype(np.int64)
    embeddings = np.load(folder / "embeddings.npy") if (folder / "embeddings.npy").is_file() else None
    if run.get("task") == "multi-label":  # hook: label sets (auditor.multilabel)
        from .multilabel.result import MultiLabelResult

        return MultiLabelResult(scores=scores, metrics=metrics, run=run, class_names=tuple(metrics["classes"]),
                                embeddings=embeddings)
    return AuditResult(scores=scores, metrics=metrics, run=run, class_names=tuple(metrics["classes"]), embeddings=embeddings)
