"""The console summary printed at the end of a run."""

from __future__ import annotations

from pathlib import Path


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_summary(result, out: Path | None = None, top: int = 10) -> str:
    m = result.metrics
    if m.get("task") == "multi-label":  # hook: label sets (auditor.multilabel)
        from .multilabel.report import format_summary as multilabel_summary

        return multilabel_summary(result, out, top)
    lines = [
        f"Audited {m['n']} examples, {len(m['classes'])} classes, method {m['method']}"
        + (f", {m['folds']}-fold" if m.get("folds") else ""),
        f"Out-of-sample accuracy {m['accuracy']:.3f}, weighted F1 {m['f1_weighted']:.3f}",
        f"Suspected label issues: {m['label_issues']} ({m['label_issue_share']:.1%})",
    ]
    if m.get("truncated_texts"):
        lines.append(f"Truncated {m['truncated_texts']} text(s) longer than {m['max_text_chars']:,} characters")
    if top:
        lines.append("")
        lines.append(f"{'rank':>4}  {'id':>6}  {'given':<10} {'suggested':<10} {'p':>5}  text")
        for _, row in result.suspects(top).iterrows():
            lines.append(
                f"{row['rank']:>4}  {_clip(row['id'], 6):>6}  {_clip(row['given_label'], 10):<10} "
                f"{_clip(row['suggested_label'], 10):<10} {row['suggested_label_probability']:>5.2f}  "
                f"{_clip(row['text'], 70)}"
            )
    if out is not None:
        lines.append("")
        lines.append(f"Wrote {out}/ (scores.csv, suspects.csv, metrics.json, run.json"
                     + (", report.html" if (Path(out) / "report.html").exists() else "") + ")")
    return "\n".join(lines)


def print_summary(result, out=None, top: int = 10) -> None:
    print(format_summary(result, out, top))
