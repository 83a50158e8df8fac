"""MultiLabelResult: an AuditResult whose labels are sets; its run folder holds the same files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DEFAULT_TOP
from ..result import AuditResult
from ..rundir import atomic_run_dir
from ..runfiles import write_run_files
from .data import DEFAULT_SEPARATOR, parse_set_text
from .export import suspects_frame, write_suspects
from .report import format_summary, render_report

__all__ = ["MultiLabelResult"]

class MultiLabelResult(AuditResult):
    """`scores` has `given_labels` and `suggested_labels` (sets joined by the input's separator),
    `missing_label`/`spurious_label` (the probable errors), `prob_<label>` per label, and the signals."""

    @property
    def separator(self) -> str:
        return (self.run.get("data") or {}).get("separator") or DEFAULT_SEPARATOR

    @property
    def labels(self) -> np.ndarray:
        """n × k 0/1 matrix of the given sets."""
        index = {c: j for j, c in enumerate(self.class_names)}
        matrix = np.zeros((len(self.scores), len(self.class_names)), dtype=np.int8)
        for i, text in enumerate(self.scores["given_labels"].astype(str).tolist()):
            for name in parse_set_text(text, self.separator):
                matrix[i, index[name]] = 1
        return matrix

    def confusion_matrix(self, normalize: bool = False) -> pd.DataFrame:
        """Per label, the 2×2 confusion (tn, fp, fn, tp) of out-of-sample predictions; rows sum to 1 with
        `normalize`."""
        table = pd.DataFrame(
            [sum(self.metrics["confusion_2x2"][c], []) for c in self.class_names],
            index=pd.Index(self.class_names, name="label"), columns=["tn", "fp", "fn", "tp"],
        )
        return table.div(table.sum(axis=1), axis=0) if normalize else table

    def cooccurrence(self) -> pd.DataFrame:
        names = list(self.class_names)
        return pd.DataFrame(self.metrics["cooccurrence"], index=names, columns=names)

    def plot_confusion_matrix(self, ax=None, normalize: bool = True):
        """The label co-occurrence matrix (row-normalised: P(column label | row label)); returns the Axes."""
        from ..report.plots import plot_confusion_matrix

        counts = self.cooccurrence().to_numpy(dtype=float)
        shown = counts / np.maximum(np.diag(counts)[:, None], 1) if normalize else counts
        return plot_confusion_matrix(shown, self.class_names, ax)

    def to_html(self, path) -> Path:
        from .report import write_report

        return write_report(self, Path(path))

    def render_report(self, max_rows: int = 2000) -> str:
        """The multi-label report page (report.html.render_report hands a MultiLabelResult here)."""
        return render_report(self, max_rows=max_rows)

    def format_summary(self, out=None, top: int = DEFAULT_TOP) -> str:
        """The console summary (summary.format_summary hands a MultiLabelResult here)."""
        return format_summary(self, out, top)

    def export_suspects(self, path, top: int | None = None, overwrite: bool = False) -> Path:
        from ..safeio import safe_write

        frame = suspects_frame(self.scores, top)
        safe_write({Path(path): lambda handle: write_suspects(frame, handle)}, overwrite=overwrite)
        return Path(path)

    def _repr_html_(self) -> str:
        from html import escape

        m = self.metrics
        head = (f"<p><b>auditor</b> (multi-label): {m['n']} examples, {len(self.class_names)} labels; "
                f"micro F1 {m['f1_micro']:.3f}; {m['label_issues']} suspected label issues "
                f"({m['label_issue_share']:.1%})</p>")
        columns = ["rank", "id", "given_labels", "suggested_labels", "text", "reasons"]
        rows = "".join("<tr>" + "".join(f"<td>{escape(str(row[c]))}</td>" for c in columns) + "</tr>"
                       for _, row in self.suspects(10).iterrows())
        header = "".join(f"<th>{escape(c)}</th>" for c in columns)
        return f"<div>{head}<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></div>"

    def save(self, out, overwrite: bool = False) -> Path:
        out = Path(out)
        with atomic_run_dir(out, overwrite) as tmp:
            write_run_files(self, tmp)
            with open(tmp / "suspects.csv", "xb") as handle:
                write_suspects(suspects_frame(self.scores), handle)
            self.to_html(tmp / "report.html")
        return out
