"""Combine the signals into one suspicion score, a rank, a suggested label and reasons in words.

`combined_score(table, parts)` is a small fixed formula over the signals named in `parts`
(higher = more suspect, in [0, 1]):

    score = 1 − label_quality_score                   (cleanlab; by default 1 − p(given label))
    "dynamics_confidence" in parts:  score = (score + 1 − confidence_score) / 2   where recorded
    "conflicting_duplicate" in parts: score = 1 − (1 − score) · (1 − conflicting_duplicate_score)

The last line is a "noisy OR": a conflicting duplicate can only raise the score, the more so the
less the model trusts the copy's label. Outliers never enter it (an atypical text is not a wrong label).
`label_issue_score` uses `RANKING`, the parts the detection benchmark measured best: on emotion with
10% planted flips (the CPU default's probabilities, 5-fold, 3 seeds) adding conflicting duplicates gave
AP 0.878 against 0.897 for label quality alone at uniform noise and 0.829 against 0.846 at
class-conditional noise (the 30 real conflicting pairs count as clean there), so the default ranks by
label quality alone; conflicts still set the flag and the reasons.
Training dynamics (recorded only by a k-fold fine-tune with `--signals dynamics`) do help: on 4,000
emotion rows with 10% uniform flips (MiniLM, 5-fold, 2 epochs, seed 0; `benchmarks/signals_ap.py`)
label quality alone gave AP 0.726, dynamics confidence 0.776 and their average 0.796, so `RANKING`
averages them in wherever they were recorded (a run without dynamics ranks by label quality alone).
`signal_scores` exposes every signal alone on the same higher-is-more-suspect scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["RANKING", "combine", "combined_score", "signal_scores", "suggest", "reasons"]

RANKING = ("label_quality", "dynamics_confidence")


def suggest(labels, pred_probs):
    """Suggested label = the model's most likely class; its probability."""
    suggested = pred_probs.argmax(axis=1)
    return suggested, pred_probs[np.arange(len(labels)), suggested]


def signal_scores(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each available signal alone, higher = more suspect (NaN where a signal says nothing about a row)."""
    out = {
        "label_quality": 1.0 - table["label_quality_score"].to_numpy(dtype=float),
        "loss": table["loss_score"].to_numpy(dtype=float),
    }
    if "conflicting_duplicate_score" in table:
        out["conflicting_duplicate"] = table["conflicting_duplicate_score"].to_numpy(dtype=float)
    if "confidence_score" in table:
        out["dynamics_confidence"] = 1.0 - table["confidence_score"].to_numpy(dtype=float)
        out["aum"] = -table["aum_score"].to_numpy(dtype=float)
    if "outlier_score" in table:
        out["outlier"] = table["outlier_score"].to_numpy(dtype=float)
    return out


def combined_score(table: pd.DataFrame, parts=RANKING) -> np.ndarray:
    """The formula of the module docstring over `parts` (those whose columns `table` lacks are skipped)."""
    pieces = signal_scores(table)
    score = pieces["label_quality"]
    if "dynamics_confidence" in parts and "dynamics_confidence" in pieces:
        dynamics = pieces["dynamics_confidence"]
        score = np.where(np.isnan(dynamics), score, (score + dynamics) / 2)
    if "conflicting_duplicate" in parts and "conflicting_duplicate" in pieces:
        score = 1.0 - (1.0 - score) * (1.0 - pieces["conflicting_duplicate"])
    return score


def combine(table: pd.DataFrame, labels, pred_probs, class_names) -> pd.DataFrame:
    """Add `label_issue_score`, `is_label_issue`, `rank` and `reasons`.

    An example is flagged when cleanlab's per-class thresholds flag it (`is_label_quality_issue`)
    or when it has a conflicting duplicate. Hard-to-learn rows and outliers are reported in
    `reasons` and their own columns but do not set the flag.
    """
    out = table.copy()
    score = combined_score(out)
    flag = out["is_label_quality_issue"].to_numpy(dtype=bool)
    if "is_conflicting_duplicate_issue" in out:
        flag = flag | out["is_conflicting_duplicate_issue"].to_numpy(dtype=bool)
    out["label_issue_score"] = score
    out["is_label_issue"] = flag
    # Ties (common with saturated probabilities) break on loss, then on input order: a stable permutation.
    order = np.lexsort((np.arange(len(out)), -out["loss_score"].to_numpy(), -score))
    rank = np.empty(len(out), dtype=np.int64)
    rank[order] = np.arange(1, len(out) + 1)
    out["rank"] = rank
    out["reasons"] = reasons(out, labels, pred_probs, class_names)
    return out


_REASON_COLUMNS = ("duplicate_reason", "dynamics_reason")


def reasons(table: pd.DataFrame, labels, pred_probs, class_names) -> list[str]:
    """Words for every signal that fires on a row, most telling first ("" when none does).

    Only the rows with something to say are formatted: a per-row loop took 15 s on a million rows
    (benchmarks/scale.py).
    """
    n = len(labels)
    suggested, p_suggested = suggest(labels, pred_probs)
    p_given = pred_probs[np.arange(n), labels]
    flag = table["is_label_quality_issue"].to_numpy(dtype=bool)
    first = np.full(n, "", dtype=object)
    differ = np.flatnonzero(suggested != labels)
    first[differ] = [
        f"model gives {class_names[s]} {ps:.2f}, labelled {class_names[g]} ({pg:.2f})"
        for s, ps, g, pg in zip(suggested[differ], p_suggested[differ], labels[differ], p_given[differ])
    ]
    low = np.flatnonzero((suggested == labels) & flag)
    first[low] = [f"low confidence in {class_names[g]} ({pg:.2f})" for g, pg in zip(labels[low], p_given[low])]
    others = [_words(table[c].to_numpy(dtype=object)) for c in _REASON_COLUMNS if c in table]
    if "is_outlier_issue" in table:
        outlier = table["is_outlier_issue"].to_numpy(dtype=bool)
        others.append(np.where(outlier, "outlier: far from other texts", "").astype(object))
    if not others:
        return first.tolist()
    parts = np.stack([first, *others], axis=1)
    rows = np.flatnonzero((parts[:, 1:] != "").any(axis=1))
    first[rows] = ["; ".join(p for p in parts[i] if p) for i in rows]
    return first.tolist()


def _words(column: np.ndarray) -> np.ndarray:
    """A reason column with every non-string (None, NaN) as ""."""
    return np.array([v if isinstance(v, str) else "" for v in column], dtype=object)
