"""cleanlab's label-quality scores and label-issue flags (confident learning)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .registry import Score, Signal

# Above this many rows cleanlab's batched search keeps memory flat.
BATCHED_ABOVE = 200_000


def score_label_quality(labels, pred_probs, score_method: str = "self_confidence") -> pd.DataFrame:
    """`label_quality_score`: cleanlab's quality in [0, 1], **lower** = more suspect (cleanlab's convention).

    `is_label_quality_issue`: cleanlab's `find_label_issues` with per-class thresholds
    (`prune_by_noise_rate`), which adapts to classes the model finds easy or hard.
    """
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(labels, pred_probs, method=score_method)
    return pd.DataFrame(
        {"label_quality_score": quality, "is_label_quality_issue": find_issues(labels, pred_probs)}
    )


def find_issues(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Boolean mask of cleanlab label issues; classes absent from `labels` are tolerated."""
    from cleanlab.filter import find_label_issues

    present = np.unique(labels)
    elsewhere = np.zeros(len(labels), dtype=bool)
    if len(present) < pred_probs.shape[1]:
        # cleanlab needs every class column to be used by some label: audit within the present classes.
        sub = pred_probs[:, present]
        total = sub.sum(axis=1, keepdims=True)
        # A row with all its mass on absent classes would be 0/0: its label is surely wrong, so flag it.
        elsewhere = total[:, 0] <= 0
        sub = np.where(elsewhere[:, None], 1.0 / len(present), sub / np.where(total > 0, total, 1.0))
        labels = np.searchsorted(present, labels)
        pred_probs = sub
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(labels) > BATCHED_ABOVE:
            return _batched(labels, pred_probs) | elsewhere
        # n_jobs=1: no worker pool to fork (its workers are stopped with SIGTERM), and fast enough here.
        found = find_label_issues(labels, pred_probs, filter_by="prune_by_noise_rate", n_jobs=1)
        return np.asarray(found, dtype=bool) | elsewhere


def _batched(labels, pred_probs):
    from cleanlab.experimental.label_issues_batched import find_label_issues_batched

    idx = find_label_issues_batched(labels=labels, pred_probs=pred_probs, batch_size=100_000, n_jobs=1, verbose=False)
    mask = np.zeros(len(labels), dtype=bool)
    mask[np.asarray(idx, dtype=np.int64)] = True
    return mask


def _reason(table: pd.DataFrame, labels, pred_probs, class_names) -> np.ndarray:
    """The model's own view: the class it prefers, or its low confidence in a flagged label."""
    n = len(labels)
    suggested = pred_probs.argmax(axis=1)
    p_suggested = pred_probs[np.arange(n), suggested]
    p_given = pred_probs[np.arange(n), labels]
    flag = table["is_label_quality_issue"].to_numpy(dtype=bool)
    words = np.full(n, "", dtype=object)
    differ = np.flatnonzero(suggested != labels)
    words[differ] = [
        f"model gives {class_names[s]} {ps:.2f}, labelled {class_names[g]} ({pg:.2f})"
        for s, ps, g, pg in zip(suggested[differ], p_suggested[differ], labels[differ], p_given[differ])
    ]
    low = np.flatnonzero((suggested == labels) & flag)
    words[low] = [f"low confidence in {class_names[g]} ({pg:.2f})" for g, pg in zip(labels[low], p_given[low])]
    return words


SIGNAL = Signal(
    "label_quality", score_label_quality, columns=("label_quality_score", "is_label_quality_issue"),
    scores=(Score("label_quality", "label_quality_score", "lower"),), flag="is_label_quality_issue",
    flags_label_issue=True, reason=_reason, reason_order=0,
    benchmark=tuple((m, "label_quality", m) for m in ("self_confidence", "normalized_margin",
                                                     "confidence_weighted_entropy")),
    core=True, order=1,
)
