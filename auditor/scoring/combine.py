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
`signal_scores` exposes every signal alone on the same higher-is-more-suspect scale (each signal
declares its columns' direction and which flags set `is_label_issue`: `auditor.scoring.registry`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import SIGNALS, scores_of

__all__ = ["RANKING", "combine", "combined_score", "signal_scores", "suggest", "reasons"]

RANKING = ("label_quality", "dynamics_confidence")


def suggest(labels, pred_probs):
    """Suggested label = the model's most likely class; its probability."""
    suggested = pred_probs.argmax(axis=1)
    return suggested, pred_probs[np.arange(len(labels)), suggested]


def signal_scores(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each available signal alone, higher = more suspect (NaN where a signal says nothing about a row)."""
    return scores_of(table)


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

    An example is flagged when a signal declared `flags_label_issue` flags it: cleanlab's per-class
    thresholds (`is_label_quality_issue`) or a conflicting duplicate. Hard-to-learn rows and outliers are reported in
    `reasons` and their own columns but do not set the flag.
    """
    out = table.copy()
    score = combined_score(out)
    flag = np.zeros(len(out), dtype=bool)
    for signal in SIGNALS.values():
        if signal.flags_label_issue and signal.flag in out:
            flag = flag | out[signal.flag].to_numpy(dtype=bool)
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
    """Words for every signal that fires on a row, most telling first ("" when none does).

    Only the rows with something to say beyond the first signal are joined: a per-row loop took 15 s on
    a million rows (benchmarks/scale.py).
    """
    said = [(s.reason_order, s.reasons(table, labels, pred_probs, class_names)) for s in SIGNALS.values()]
    parts = [words for _, words in sorted((p for p in said if p[1] is not None), key=lambda p: p[0])]
    if not parts:
        return [""] * len(labels)
    first = parts[0].copy()
    if len(parts) == 1:
        return first.tolist()
    stacked = np.stack(parts, axis=1)
    rows = np.flatnonzero((stacked[:, 1:] != "").any(axis=1))
    first[rows] = ["; ".join(p for p in stacked[i] if p) for i in rows]
    return first.tolist()
