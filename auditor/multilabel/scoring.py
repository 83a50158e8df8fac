"""Multi-label scores: cleanlab's label quality and issue flag per example, which label is probably missing
or spurious and why, a suggested set, duplicates and outliers; one row per example, in input order.

Per label j and row i, the model's evidence against the given value is `p_ij` where j is not labelled
(probably missing) and `1 − p_ij` where it is (probably spurious). The "which label" guess is the label
with the most evidence, measured against the label's own scale: each probability is divided by the mean
probability the model gives that label where it *is* labelled (cleanlab's per-class threshold), because a
one-vs-rest model gives a rare label low probabilities even where it belongs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .data import format_set

__all__ = ["score_multilabel", "label_thresholds", "which_label", "suggest_sets", "ranking_score"]


def label_thresholds(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Per label: the mean probability where it is labelled (0.5 for a label no row carries)."""
    counts = labels.sum(axis=0)
    sums = (pred_probs * labels).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.5)


def which_label(labels: np.ndarray, pred_probs: np.ndarray, thresholds=None):
    """(missing label, its strength, spurious label, its strength) per row; -1 where there is no candidate.

    Strength of a missing j: p_ij / t_j; of a spurious j: (1 − p_ij) / (1 − t_j) (t_j: label_thresholds).
    """
    t = label_thresholds(labels, pred_probs) if thresholds is None else thresholds
    t = np.clip(t, 1e-3, 1 - 1e-3)
    given = labels.astype(bool)
    missing_strength = np.where(given, -np.inf, pred_probs / t)
    spurious_strength = np.where(given, (1 - pred_probs) / (1 - t), -np.inf)
    missing = missing_strength.argmax(axis=1)
    spurious = spurious_strength.argmax(axis=1)
    rows = np.arange(len(labels))
    m_strength, s_strength = missing_strength[rows, missing], spurious_strength[rows, spurious]
    missing = np.where(np.isfinite(m_strength), missing, -1)
    spurious = np.where(np.isfinite(s_strength), spurious, -1)
    return missing, np.where(missing >= 0, m_strength, 0.0), spurious, np.where(spurious >= 0, s_strength, 0.0)


def suggest_sets(labels: np.ndarray, pred_probs: np.ndarray, thresholds=None) -> np.ndarray:
    """The set the model supports: labels at or above their threshold t_j; a row left empty keeps its most
    likely label relative to the thresholds (every GoEmotions row has one)."""
    t = label_thresholds(labels, pred_probs) if thresholds is None else thresholds
    suggested = (pred_probs >= t[None, :]).astype(np.int8)
    empty = ~suggested.any(axis=1) & labels.any(axis=1)
    best = (pred_probs / np.clip(t, 1e-3, None)).argmax(axis=1)
    suggested[np.flatnonzero(empty), best[empty]] = 1
    return suggested


def ranking_score(quality: np.ndarray) -> np.ndarray:
    """Higher = more suspect: 1 − cleanlab's multi-label label quality."""
    return 1.0 - quality


def score_multilabel(data, pred_probs: np.ndarray, signals=("duplicates", "outliers"), embeddings=None,
                     duplicate_threshold: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """The scores table of a multi-label audit (columns documented in docs/multilabel.md)."""
    from cleanlab.multilabel_classification import filter as ml_filter
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    labels, names, sep = np.asarray(data.labels, dtype=np.int8), list(data.class_names), data.separator
    sets = data.label_sets()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = get_label_quality_scores(sets, pred_probs)
        flag = ml_filter.find_label_issues(sets, pred_probs, n_jobs=1)
    t = label_thresholds(labels, pred_probs)
    missing, m_strength, spurious, s_strength = which_label(labels, pred_probs, t)
    suggested = suggest_sets(labels, pred_probs, t)
    rows = np.arange(len(labels))
    table = pd.DataFrame({
        "id": data.ids,
        "text": list(data.texts),
        "given_labels": [format_set(np.flatnonzero(r), names, sep) for r in labels],
        "suggested_labels": [format_set(np.flatnonzero(r), names, sep) for r in suggested],
        "missing_label": [names[j] if j >= 0 else "" for j in missing],
        "missing_label_probability": np.where(missing >= 0, pred_probs[rows, np.maximum(missing, 0)], np.nan),
        "spurious_label": [names[j] if j >= 0 else "" for j in spurious],
        "spurious_label_probability": np.where(spurious >= 0, pred_probs[rows, np.maximum(spurious, 0)], np.nan),
        "suspect_label": _suspect(missing, m_strength, spurious, s_strength, names),
        "label_quality_score": quality,
        "is_label_quality_issue": flag,
    })
    probs = pd.DataFrame(pred_probs, columns=[f"prob_{c}" for c in names])
    parts = [table, probs, *_extra_signals(data, table, signals, embeddings, duplicate_threshold, seed)]
    table = pd.concat(parts, axis=1)
    return _rank(table, missing, m_strength, spurious, s_strength)


def _suspect(missing, m_strength, spurious, s_strength, names) -> list[str]:
    """The single most likely change, '+name' (missing) or '-name' (spurious)."""
    out = []
    for m, ms, s, ss in zip(missing, m_strength, spurious, s_strength):
        if m >= 0 and (s < 0 or ms >= ss):
            out.append("+" + names[m])
        elif s >= 0:
            out.append("-" + names[s])
        else:
            out.append("")
    return out


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


def _rank(table: pd.DataFrame, missing, m_strength, spurious, s_strength) -> pd.DataFrame:
    score = ranking_score(table["label_quality_score"].to_numpy(dtype=float))
    flag = table["is_label_quality_issue"].to_numpy(dtype=bool)
    if "is_conflicting_duplicate_issue" in table:
        flag = flag | table["is_conflicting_duplicate_issue"].to_numpy(dtype=bool)
    table["label_issue_score"] = score
    table["is_label_issue"] = flag
    order = np.lexsort((np.arange(len(table)), -score))
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
    duplicate = table["duplicate_reason"].tolist() if "duplicate_reason" in table else None
    outlier = table["is_outlier_issue"].tolist() if "is_outlier_issue" in table else None
    for i, (m, pm, s, ps, guess) in enumerate(zip(*columns)):
        words = []
        missing_words = f"model gives {m} {pm:.2f}, not labelled" if m else ""
        spurious_words = f"labelled {s} {ps:.2f}" if s else ""
        pair = [missing_words, spurious_words] if guess.startswith("+") else [spurious_words, missing_words]
        words.append("; ".join(w for w in pair if w))
        if duplicate is not None and isinstance(duplicate[i], str) and duplicate[i]:
            words.append(duplicate[i])
        if outlier is not None and outlier[i]:
            words.append("outlier: far from other texts")
        out.append("; ".join(w for w in words if w))
    return out
