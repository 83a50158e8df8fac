"""The console summary printed at the end of a run."""

from __future__ import annotations

from pathlib import Path

from .config import DEFAULT_TOP


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


# When the flags stop being worth an annotator's time. On emotion with planted 10% flips, `tfidf` found them
# with AP 0.67 and flag precision 0.35 at 2,000 rows against AP 0.90 at 16,000 (BENCHMARKS.md, "Detection");
# 300 rows gave accuracy 0.46 and flagged 38% of rows, most of them the model's own mistakes.
LOW_ACCURACY = 0.6
HIGH_FLAGGED_SHARE = 0.25
MIN_ROWS_PER_CLASS = 100
SMALL_DATA_ACCURACY = 0.8


def reliability_note(n: int, n_classes: int, accuracy: float, flagged_share: float, method: str = "") -> str | None:
    """None when the flags can be trusted as a worklist; else why not, and what would help."""
    small = n < MIN_ROWS_PER_CLASS * n_classes
    reasons = []
    if accuracy < LOW_ACCURACY:
        reasons.append(f"out-of-sample accuracy is only {accuracy:.2f}")
    if flagged_share > HIGH_FLAGGED_SHARE:
        reasons.append(f"{flagged_share:.0%} of rows are flagged")
    # Few rows alone are fine when the classes are easy to tell apart (high accuracy).
    if small and (reasons or accuracy < SMALL_DATA_ACCURACY):
        reasons.append(f"{n:,} rows for {n_classes} classes is little to learn from")
    if not reasons:
        return None
    helps = ["more labelled data (on emotion, planted errors were found with AP 0.90 at 16,000 rows, 0.67 at 2,000)"]
    if "finetune" not in method:
        helps.append("--method finetune+tfidf (a pretrained model learns from fewer examples; best on a GPU)")
    if method in ("tfidf", "nb", "tfidf+nb", "auto"):
        helps.append("another method, e.g. --method tfidf+embeddings+nb")
    return (f"The flags are unreliable here: {'; '.join(reasons)}, so many flagged rows are the model's mistakes "
            f"rather than wrong labels. What would help: {'; '.join(helps)}.")


def result_reliability(result) -> str | None:
    """`reliability_note` for a run; None when its metrics lack the accuracy (nothing to judge by)."""
    m = result.metrics
    if m.get("accuracy") is None:
        return None
    flagged = float(result.scores["is_label_issue"].astype(bool).mean()) if len(result.scores) else 0.0
    return reliability_note(len(result.scores), len(result.class_names), m["accuracy"], flagged,
                            str(m.get("method") or ""))


def format_summary(result, out: Path | None = None, top: int = DEFAULT_TOP, extra: str | None = None) -> str:
    """The console summary; `extra` (e.g. the comparison with --previous) goes before the files written."""
    m = result.metrics
    if hasattr(result, "format_summary"):  # hook: a task's own summary (auditor.multilabel)
        return result.format_summary(out, top)
    lines = [
        f"Audited {m['n']} examples, {len(m['classes'])} classes, method {m['method']}"
        + (f", {m['folds']}-fold" if m.get("folds") else ""),
        f"Out-of-sample accuracy {m['accuracy']:.3f}, weighted F1 {m['f1_weighted']:.3f}",
        f"Suspected label issues: {m['label_issues']} ({m['label_issue_share']:.1%})",
    ]
    note = result_reliability(result)
    if note:
        lines.append(f"Warning: {note}")
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
    if extra:
        lines += ["", extra]
    if out is not None:
        report = Path(out) / "report.html"
        lines.append("")
        lines.append(f"Wrote {out}/ (scores.csv, scores.parquet, suspects.csv, metrics.json, run.json"
                     + (", report.html" if report.exists() else "") + ")")
        if report.exists():
            lines.append(f"Open the report: {report.resolve().as_uri()}")
    return "\n".join(lines)


def print_summary(result, out=None, top: int = DEFAULT_TOP, extra: str | None = None) -> None:
    print(format_summary(result, out, top, extra))
