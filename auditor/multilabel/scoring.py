"""Multi-label scores: cleanlab's label quality and issue flag per example, which label is probably missing
or spurious and why, a suggested set, duplicates and outliers; one row per example, in input order.

Per label j and row i the model's evidence against the given value is the odds that it is wrong:
q/(1 − q) where j is not labelled (probably missing), (1 − q)/q where it is (probably spurious), with q the
per-label probability averaged 1:2 with its row-normalised share (`row_blend`). The example's
`label_issue_score` is the summed evidence S as S/(1 + S) (the odds that some label of the row is wrong,
in [0, 1)), and the "which label" guess (`suspect_label`, '+name' missing or '−name' spurious) is the label
with the most evidence. Measured with 10% planted changes (drop / add / confusable swap;
benchmarks/multilabel_goemotions.py) on the same one-vs-rest probabilities, example-ranking AP at
3,000 / 4,000 / 10,000 rows, seeds 0 and 1: the largest gap |y − p| (the previous default) 0.293 0.260 /
0.288 0.273 / 0.311 0.308; summed odds on p alone 0.298 0.266 / 0.295 0.279 / 0.311 0.311; the row blend
with the largest gap 0.299 0.278 / 0.293 0.294 / 0.320 0.317; both (this scorer) 0.300 0.281 / 0.299 0.297 /
0.320 0.319. A one-vs-rest model scores each label alone; the row share weighs a label against the row's
other labels, as a softmax does (averaging with a multinomial logistic regression on the same features
instead reached 0.308-0.313 on 4,000 rows, seed 0, at 20-40x the CPU time: too slow for the full split).
Rejected on 4,000 rows, seed 0: 1 − cleanlab's label quality (exponential moving
average) 0.253, its softmin 0.227; per-label Platt scaling fitted on the other folds 0.284-0.289; a
posterior that also multiplies missing by spurious odds (a swap) 0.264-0.285; per-label confident-learning
thresholds 0.157; mixing 1:1 instead of 1:2 0.298. The guess was right for 0.83-0.93 of the planted rows
found in the top k; dividing each probability by the label's mean where labelled dropped that to 0.29.
cleanlab's quality score and its `find_label_issues` flag are kept as columns; the flag sets
`is_label_issue`.

Training dynamics per label (a fine-tune's, `auditor.multilabel.dynamics`) are recorded as columns and
reasons but kept OUT of `label_issue_score` (`RANK_WITH_DYNAMICS`): averaged in as single-label does
(`with_dynamics`), they lowered AP on 800 GoEmotions rows with 10% planted changes (MiniLM on CPU, 5-fold,
2 epochs; benchmarks/multilabel_dynamics.py, BENCHMARKS.md): 0.119 → 0.107 (seed 0, learning rate 1e-4),
0.111 → 0.099 (seed 0, 3e-4), 0.167 → 0.155 (seed 1, 1e-4), with dynamics confidence alone at 0.102 /
0.106 / 0.133 (the base rate is 0.10).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .data import format_set

# What a multi-label run folder's scores must hold (checked by runfiles.read_run).
SCORE_COLUMNS = ("id", "text", "given_labels", "suggested_labels", "missing_label", "spurious_label", "suspect_label",
                 "label_quality_score", "label_issue_score", "is_label_issue", "rank", "reasons")

__all__ = ["SCORE_COLUMNS", "score_multilabel", "label_thresholds", "which_label", "row_blend", "label_evidence",
           "suggest_sets", "with_dynamics", "RANK_WITH_DYNAMICS"]

_EPS = 1e-6
RANK_WITH_DYNAMICS = False  # measured to lower AP (module docstring); `with_dynamics` is the formula


def label_thresholds(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Per label: the mean probability where it is labelled (0.5 for a label no row carries)."""
    counts = labels.sum(axis=0)
    sums = (pred_probs * labels).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.5)


def row_blend(pred_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-label probabilities averaged 1:2 with their row-normalised share p / Σp, scaled by the mean
    number of labels per row (so a one-label row's share of its top label stays near its size)."""
    per_row = max(float(np.asarray(labels).sum(axis=1).mean()), 1.0)
    share = np.clip(per_row * pred_probs / np.maximum(pred_probs.sum(axis=1, keepdims=True), _EPS), _EPS, 1 - _EPS)
    return np.clip((pred_probs + 2.0 * share) / 3.0, _EPS, 1 - _EPS)


def label_evidence(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Per row and label, the odds that the given 0/1 is wrong under `row_blend`'s probabilities."""
    q = row_blend(pred_probs, labels)
    return np.where(labels.astype(bool), (1 - q) / q, q / (1 - q))


def which_label(labels: np.ndarray, pred_probs: np.ndarray):
    """Per row: the most probable label not given (-1 if all are), the least probable label given (-1 if
    none is), the label with the most evidence against its given value (`label_evidence`), and the
    row's summed evidence S as S / (1 + S)."""
    given = labels.astype(bool)
    missing = np.where(given, -np.inf, pred_probs).argmax(axis=1)
    spurious = np.where(given, pred_probs, np.inf).argmin(axis=1)
    missing = np.where((~given).any(axis=1), missing, -1)
    spurious = np.where(given.any(axis=1), spurious, -1)
    evidence = label_evidence(labels, pred_probs)
    total = evidence.sum(axis=1)
    return missing, spurious, evidence.argmax(axis=1), total / (1.0 + total)


def suggest_sets(labels: np.ndarray, pred_probs: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """For flagged rows, the given set with every label the model contradicts (gap > 0.5) and the guessed
    label (`which_label`) changed; a set that would be left empty keeps the most probable label. Other rows
    keep their set."""
    suggested = np.array(labels, dtype=np.int8, copy=True)
    rows = np.flatnonzero(flagged)
    suggested[rows] = (pred_probs[rows] > 0.5).astype(np.int8)
    guess = label_evidence(labels, pred_probs).argmax(axis=1)
    suggested[rows, guess[rows]] = 1 - labels[rows, guess[rows]]  # the guessed change, whatever its size
    empty = rows[~suggested[rows].any(axis=1) & labels[rows].any(axis=1)]
    suggested[empty, pred_probs[empty].argmax(axis=1)] = 1
    return suggested


def score_multilabel(data, pred_probs: np.ndarray, signals=("duplicates", "outliers"), embeddings=None,
                     duplicate_threshold: float = 0.95, seed: int = 0, dynamics=None) -> pd.DataFrame:
    """The scores table of a multi-label audit (columns documented in docs/multilabel.md).

    `dynamics` (a fine-tune's `label_agreement` records) adds `auditor.multilabel.dynamics`' columns and
    hard-to-learn reasons; the ranking leaves them out (`RANK_WITH_DYNAMICS`, module docstring)."""
    from cleanlab.multilabel_classification import filter as ml_filter
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    labels, names, sep = np.asarray(data.labels, dtype=np.int8), list(data.class_names), data.separator
    sets = data.label_sets()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = get_label_quality_scores(sets, pred_probs)
        flag = ml_filter.find_label_issues(sets, pred_probs, n_jobs=1)
    missing, spurious, guess, issue = which_label(labels, pred_probs)
    rows = np.arange(len(labels))
    table = pd.DataFrame({
        "id": data.ids,
        "text": list(data.texts),
        "given_labels": [format_set(np.flatnonzero(r), names, sep) for r in labels],
        "suggested_labels": "",
        "missing_label": [names[j] if j >= 0 else "" for j in missing],
        "missing_label_probability": np.where(missing >= 0, pred_probs[rows, np.maximum(missing, 0)], np.nan),
        "spurious_label": [names[j] if j >= 0 else "" for j in spurious],
        "spurious_label_probability": np.where(spurious >= 0, pred_probs[rows, np.maximum(spurious, 0)], np.nan),
        "suspect_label": [("-" if labels[i, j] else "+") + names[j] for i, j in enumerate(guess)],
        "label_quality_score": quality,
        "is_label_quality_issue": flag,
    })
    probs = pd.DataFrame(pred_probs, columns=[f"prob_{c}" for c in names])
    parts = [table, probs, *_extra_signals(data, table, signals, embeddings, duplicate_threshold, seed)]
    if dynamics is not None:
        from .dynamics import score_multilabel_dynamics

        parts.append(score_multilabel_dynamics(dynamics, labels, names))
    table = pd.concat(parts, axis=1)
    table = _rank(table, with_dynamics(issue, table) if RANK_WITH_DYNAMICS else issue)
    suggested = suggest_sets(labels, pred_probs, table["is_label_issue"].to_numpy(dtype=bool))
    table["suggested_labels"] = [format_set(np.flatnonzero(r), names, sep) for r in suggested]
    return table


def with_dynamics(issue: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """`issue` averaged with 1 − dynamics confidence where recorded (the single-label formula)."""
    if "confidence_score" not in table:
        return issue
    doubt = 1.0 - table["confidence_score"].to_numpy(dtype=float)
    return np.where(np.isnan(doubt), issue, (issue + doubt) / 2)


def _extra_signals(data, table, signals, embeddings, duplicate_threshold, seed) -> list[pd.DataFrame]:
    parts = []
    if "duplicates" in signals:
        from ..scoring.duplicates import score_duplicates

        # A copy of the same text with another label set is a conflict: the sets play the role of classes.
        set_ids, set_names = pd.factorize(table["given_labels"], sort=True)
        one_hot = np.zeros((len(set_ids), len(set_names)), dtype=np.float32)
        one_hot[np.arange(len(set_ids)), set_ids] = 1.0
        names = [f"{{{s}}}" for s in set_names]
        parts.append(score_duplicates(set_ids, one_hot, texts=list(data.texts), ids=data.ids, class_names=names,
                                      embeddings=embeddings, duplicate_threshold=duplicate_threshold))
    if "outliers" in signals:
        from ..scoring.outliers import score_outliers

        parts.append(score_outliers(None, None, texts=list(data.texts), embeddings=embeddings, seed=seed))
    return parts


def _rank(table: pd.DataFrame, issue: np.ndarray) -> pd.DataFrame:
    score = np.asarray(issue, dtype=float)
    flag = table["is_label_quality_issue"].to_numpy(dtype=bool)
    if "is_conflicting_duplicate_issue" in table:
        flag = flag | table["is_conflicting_duplicate_issue"].to_numpy(dtype=bool)
    table["label_issue_score"] = score
    table["is_label_issue"] = flag
    # Ties break on cleanlab's quality (lower first), then on input order: a stable permutation.
    order = np.lexsort((np.arange(len(table)), table["label_quality_score"].to_numpy(dtype=float), -score))
    rank = np.empty(len(table), dtype=np.int64)
    rank[order] = np.arange(1, len(table) + 1)
    table["rank"] = rank
    table["reasons"] = _reasons(table)
    return table


def _reasons(table: pd.DataFrame) -> list[str]:
    """'model gives gratitude 0.93, not labelled; labelled neutral 0.04', then duplicates and outliers."""
    out = []
    columns = [table[c].tolist() for c in ("missing_label", "missing_label_probability", "spurious_label",
                                           "spurious_label_probability", "suspect_label")]
    hard = table["dynamics_reason"].tolist() if "dynamics_reason" in table else None
    duplicate = table["duplicate_reason"].tolist() if "duplicate_reason" in table else None
    outlier = table["is_outlier_issue"].tolist() if "is_outlier_issue" in table else None
    for i, (m, pm, s, ps, guess) in enumerate(zip(*columns)):
        words = []
        missing_words = f"model gives {m} {pm:.2f}, not labelled" if m else ""
        spurious_words = f"labelled {s} {ps:.2f}" if s else ""
        pair = [missing_words, spurious_words] if guess.startswith("+") else [spurious_words, missing_words]
        if guess.startswith("-") and pm < 0.5:  # nothing missing worth saying
            pair = [spurious_words]
        elif guess.startswith("+") and ps >= 0.5:
            pair = [missing_words]
        words.append("; ".join(w for w in pair if w))
        if hard is not None and hard[i]:
            words.append(hard[i])
        if duplicate is not None and isinstance(duplicate[i], str) and duplicate[i]:
            words.append(duplicate[i])
        if outlier is not None and outlier[i]:
            words.append("outlier: far from other texts")
        out.append("; ".join(w for w in words if w))
    return out
