"""Combine the signals into one suspicion score, a rank, a suggested label and reasons in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["combine", "suggest"]


def suggest(labels, pred_probs):
    """Suggested label = the model's most likely class; its probability."""
    suggested = pred_probs.argmax(axis=1)
    return suggested, pred_probs[np.arange(len(labels)), suggested]


def combine(table: pd.DataFrame, labels, pred_probs, class_names) -> pd.DataFrame:
    """Add `label_issue_score` (higher = more suspect), `is_label_issue`, `rank` and `reasons`.

    The score is 1 − cleanlab's label quality, so ranking follows the `--score-method` chosen
    (self-confidence by default: 1 − p(given label)). An example is flagged when cleanlab's
    per-class thresholds flag it, or when another signal marks a conflict (e.g. duplicates).
    """
    out = table.copy()
    score = 1.0 - out["label_quality_score"].to_numpy()
    flag = out["is_label_quality_issue"].to_numpy(dtype=bool)
    if "is_conflicting_duplicate_issue" in out:
        conflict = out["is_conflicting_duplicate_issue"].to_numpy(dtype=bool)
        flag = flag | conflict
    out["label_issue_score"] = score
    out["is_label_issue"] = flag
    # Ties (common with saturated probabilities) break on loss, then on input order: a stable permutation.
    order = np.lexsort((np.arange(len(out)), -out["loss_score"].to_numpy(), -score))
    rank = np.empty(len(out), dtype=np.int64)
    rank[order] = np.arange(1, len(out) + 1)
    out["rank"] = rank
    out["reasons"] = reasons(out, labels, pred_probs, class_names)
    return out


def reasons(table: pd.DataFrame, labels, pred_probs, class_names) -> list[str]:
    """Why each row is suspect, in words ("" when it is not). Text is formatted only for the rows that
    need it: a per-row loop over a million rows took 15 s (benchmarks/scale.py)."""
    n = len(labels)
    suggested, p_suggested = suggest(labels, pred_probs)
    p_given = pred_probs[np.arange(n), labels]
    flag = table["is_label_issue"].to_numpy(dtype=bool)
    out = np.full(n, "", dtype=object)
    differ = np.flatnonzero(suggested != labels)
    out[differ] = [
        f"model gives {class_names[s]} {ps:.2f}, labelled {class_names[g]} ({pg:.2f})"
        for s, ps, g, pg in zip(suggested[differ], p_suggested[differ], labels[differ], p_given[differ])
    ]
    low = np.flatnonzero((suggested == labels) & flag)
    out[low] = [f"low confidence in {class_names[g]} ({pg:.2f})" for g, pg in zip(labels[low], p_given[low])]
    if "duplicate_reason" in table:
        extra = table["duplicate_reason"].to_numpy(dtype=object)
        rows = [i for i, e in enumerate(extra) if isinstance(e, str) and e]
        out[rows] = [f"{out[i]}; {extra[i]}" if out[i] else extra[i] for i in rows]
    return out.tolist()
