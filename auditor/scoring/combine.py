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
    suggested, p_suggested = suggest(labels, pred_probs)
    p_given = pred_probs[np.arange(len(labels)), labels]
    flag = table["is_label_issue"].to_numpy()
    texts = []
    for i in range(len(labels)):
        parts = []
        if suggested[i] != labels[i]:
            parts.append(
                f"model gives {class_names[suggested[i]]} {p_suggested[i]:.2f}, "
                f"labelled {class_names[labels[i]]} ({p_given[i]:.2f})"
            )
        elif flag[i]:
            parts.append(f"low confidence in {class_names[labels[i]]} ({p_given[i]:.2f})")
        extra = table["duplicate_reason"].iat[i] if "duplicate_reason" in table else ""
        if isinstance(extra, str) and extra:
            parts.append(extra)
        texts.append("; ".join(parts))
    return texts
