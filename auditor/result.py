"""AuditResult: the scores table, metrics and run facts of one audit, and its products (report, suspects).

The run folder's files are read and written by `auditor.runfiles`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .annotate.export import (annotated_rows, scores_with_neighbours, suspect_positions, suspects_frame,
                              write_suspects)
from .plots import plot_confusion_matrix
from .report.html import write_report
from .rundir import atomic_run_dir
from .runfiles import read_run, write_run_files
from .safeio import safe_write

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
        return plot_confusion_matrix(self.confusion_matrix(normalize).to_numpy(), self.class_names, ax)

    def to_html(self, path) -> Path:
        """Write the self-contained HTML report (the run folder's report.html) to `path`."""
        return write_report(self, Path(path))

    def export_suspects(self, path, top: int | None = None, overwrite: bool = False) -> Path:
        """Write the annotators' CSV (suspects.csv's format); `top` rows, or every flagged row, each with
        its neighbours (computed here for rows the run did not search, as `auditor export` does).

        An existing file is replaced only with `overwrite` (and never one holding annotations without it).
        """
        path = Path(path)
        own = path.is_file() and not path.is_symlink() and annotated_rows(path) == 0
        frame = suspects_frame(scores_with_neighbours(self, suspect_positions(self.scores, top)), top)
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
            with open(tmp / "suspects.csv", "xb") as handle:  # a fresh private folder: created, never replaced
                write_suspects(suspects_frame(self.scores), handle)
            write_report(self, tmp / "report.html")
        return out


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def prob_column(class_name: str) -> str:
    return f"prob_{class_name}"


# Hook: tasks other than single-label are plugins, found by name: their module registers the task's result
# class here, its run in pipeline.TASK_RUNNERS and its apply in annotate.apply.TASK_APPLIERS.
TASK_PLUGINS = {"multi-label": "auditor.multilabel.plugin"}
RESULT_CLASSES: dict[str, type] = {}


def load_task(task: str | None) -> None:
    """Import the plugin of `task` (once), so that its hooks are registered."""
    if task in TASK_PLUGINS and task not in RESULT_CLASSES:
        from importlib import import_module

        import_module(TASK_PLUGINS[task])


def load_run(folder) -> AuditResult:
    """Reopen a saved run folder."""
    fields = read_run(folder)
    load_task(fields["run"].get("task"))
    return RESULT_CLASSES.get(fields["run"].get("task"), AuditResult)(**fields)
