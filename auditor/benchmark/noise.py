"""Planted label noise with known answers, and how well a ranking finds it.

Both are pure functions of arrays, so the detection benchmark (`auditor.benchmark.runner`) and the tests
share them: `flip_labels` plants the noise, `detection_metrics` scores a suspicion ranking against it.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ..errors import OptionError

__all__ = ["NOISE_MODES", "flip_labels", "detection_metrics"]

NOISE_MODES = ("uniform", "class_conditional", "one_class")


def flip_labels(
    labels,
    fraction: float,
    seed: int,
    n_classes: int | None = None,
    mode: str = "uniform",
    confusion=None,
    target_class: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Flip exactly `round(fraction * n)` labels, each to a different class; returns (noisy, is_flipped).

    - `uniform`: rows drawn uniformly, each new label uniform over the other classes.
    - `class_conditional`: rows drawn uniformly, each new label drawn from the off-diagonal part of
      `confusion[true]` (an out-of-sample confusion matrix, counts or rates), so flips follow what a
      model, and people, confuse (joy↔love, fear↔surprise on emotion).
    - `one_class`: all flipped rows come from `target_class` (default: the most frequent class),
      each new label uniform over the other classes.
    The same arguments give the same result.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    n_classes = int(labels.max()) + 1 if n_classes is None else int(n_classes)
    _check_args(labels, fraction, n_classes, mode)
    n_flips = int(round(fraction * n))
    rng = np.random.default_rng(seed)
    if mode == "one_class":
        target_class = int(np.bincount(labels, minlength=n_classes).argmax()) if target_class is None else target_class
        pool = np.flatnonzero(labels == target_class)
        if n_flips > len(pool):
            raise OptionError(
                f"The 'fraction' parameter asks for {n_flips} flips but class {target_class} has only "
                f"{len(pool)} rows. Use a smaller fraction or another target_class."
            )
    else:
        pool = np.arange(n)
    rows = np.sort(rng.choice(pool, size=n_flips, replace=False))
    weights = _target_weights(n_classes, mode, confusion)
    noisy = labels.copy()
    for r in rows:
        w = weights[labels[r]]
        noisy[r] = rng.choice(n_classes, p=w / w.sum())
    is_flipped = np.zeros(n, dtype=bool)
    is_flipped[rows] = True
    return noisy, is_flipped


def _check_args(labels, fraction, n_classes, mode):
    if mode not in NOISE_MODES:
        raise OptionError(f"The 'mode' parameter must be one of {', '.join(NOISE_MODES)}. Got {mode!r} instead.")
    if not 0 <= fraction < 1:
        raise OptionError(f"The 'fraction' parameter must be a number in [0, 1). Got {fraction!r} instead.")
    if n_classes < 2:
        raise OptionError(f"The 'n_classes' parameter must be an int >= 2. Got {n_classes!r} instead.")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise OptionError(f"The 'labels' parameter must hold ints in 0..{n_classes - 1}.")


def _target_weights(n_classes: int, mode: str, confusion) -> np.ndarray:
    """Row i: unnormalised probabilities of the new label for a row whose label is i (zero on the diagonal)."""
    if mode == "class_conditional":
        if confusion is None:
            raise OptionError("The 'confusion' parameter is required when mode is 'class_conditional'.")
        weights = np.asarray(confusion, dtype=np.float64).copy()
        if weights.shape != (n_classes, n_classes) or (weights < 0).any():
            raise OptionError(
                f"The 'confusion' parameter must be a non-negative {n_classes}x{n_classes} matrix. "
                f"Got shape {weights.shape} instead."
            )
    else:
        weights = np.ones((n_classes, n_classes))
    np.fill_diagonal(weights, 0.0)
    # A class never confused with another still needs somewhere to go: fall back to uniform.
    empty = weights.sum(axis=1) == 0
    weights[empty] = 1.0
    weights[empty, np.flatnonzero(empty)] = 0.0
    return weights


def detection_metrics(is_flipped, score, flag=None) -> dict:
    """How well `score` (higher = more suspect) ranks the planted flips first.

    k = number of planted flips. Ties in `score` are broken by input order, so the top-k sets are
    reproducible. `flag` (the method's yes/no verdict), when given, adds its precision, recall and F1.
    """
    truth = np.asarray(is_flipped, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n, k = len(truth), int(truth.sum())
    if k == 0 or k == n:
        raise OptionError("The 'is_flipped' parameter must mark some rows but not all.")
    order = np.argsort(-score, kind="stable")
    hits = np.cumsum(truth[order])
    out = {
        "average_precision": float(average_precision_score(truth, score)),
        "precision_at_k": float(hits[k - 1] / k),
        "recall_at_k": float(hits[k - 1] / k),
        "recall_at_2pct": _recall_at(hits, n, k, 0.02),
        "recall_at_5pct": _recall_at(hits, n, k, 0.05),
        "auroc": float(roc_auc_score(truth, score)),
    }
    if flag is not None:
        out.update(_flag_metrics(truth, np.asarray(flag, dtype=bool)))
    return out


def calibration_metrics(clean_labels, probs, bins: int = 15) -> dict:
    """Accuracy and top-label expected calibration error of `probs` against the clean labels.

    Issue 13: an ensemble is only as good as its members, and a member that is accurate but over- or
    under-confident distorts self-confidence rankings; equal-width bins over the top probability.
    """
    labels = np.asarray(clean_labels)
    probs = np.asarray(probs, dtype=np.float64)
    top, predicted = probs.max(axis=1), probs.argmax(axis=1)
    correct = (predicted == labels).astype(np.float64)
    which = np.minimum((top * bins).astype(int), bins - 1)
    gap = np.abs(np.bincount(which, correct, bins) - np.bincount(which, top, bins))
    return {"accuracy": float(correct.mean()), "ece": float(gap.sum() / len(labels))}


def _recall_at(hits, n, k, share) -> float:
    top = max(1, math.ceil(share * n))
    return float(hits[top - 1] / k)


def _flag_metrics(truth, flag) -> dict:
    tp = int((truth & flag).sum())
    precision = tp / flag.sum() if flag.any() else 0.0
    recall = tp / truth.sum()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"flag_precision": float(precision), "flag_recall": float(recall), "flag_f1": float(f1),
            "flagged": int(flag.sum())}
