"""Planted multi-label noise with known answers, and how well an audit finds it against the practitioner's
baseline (one-vs-rest word TF-IDF + LogisticRegression, k-fold, then
`cleanlab.multilabel_classification.filter.find_label_issues` ranked by self-confidence).

Noise: `share` of the rows get one change each, a third of each kind: drop one of its labels (rows with
one label get a swap instead: an empty set is a different question), add a label it does not have, or
swap one of its labels for a *confusable* one (the label most often given together with it in the clean
data, a stand-in for the pairs annotators mix up). The "which label" answer of a planted change is the
label dropped (+X: probably missing), added (−Y: probably spurious), or either side of a swap.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["plant_multilabel_noise", "baseline_probs", "baseline_ranking", "evaluate", "confusable_labels"]


def confusable_labels(labels: np.ndarray) -> np.ndarray:
    """Per label, the others ordered by how often they are given together with it (most first)."""
    counts = labels.T.astype(np.int64) @ labels.astype(np.int64)
    np.fill_diagonal(counts, -1)
    return np.argsort(-counts, axis=1, kind="stable")[:, :-1]


def plant_multilabel_noise(labels: np.ndarray, share: float = 0.1, seed: int = 0):
    """(noisy labels, changed row positions, {row: set of correct answers such as '+joy' or '-anger'})."""
    rng = np.random.default_rng(seed)
    noisy = np.array(labels, dtype=np.int8, copy=True)
    k = labels.shape[1]
    order = confusable_labels(labels)
    rows = np.sort(rng.choice(len(labels), int(round(share * len(labels))), replace=False))
    answers = {}
    for r in rows:
        given = np.flatnonzero(noisy[r])
        kind = rng.choice(["drop", "add", "swap"])
        if kind == "drop" and len(given) < 2:
            kind = "swap"
        if kind == "drop":
            j = rng.choice(given)
            noisy[r, j] = 0
            answers[int(r)] = {f"+{j}"}
        elif kind == "add":
            j = rng.choice(np.flatnonzero(noisy[r] == 0))
            noisy[r, j] = 1
            answers[int(r)] = {f"-{j}"}
        else:
            a = rng.choice(given)
            b = next(int(x) for x in order[a] if noisy[r, x] == 0) if (noisy[r] == 0).any() else None
            if b is None or b >= k:
                continue
            noisy[r, a], noisy[r, b] = 0, 1
            answers[int(r)] = {f"+{a}", f"-{b}"}
    changed = np.array(sorted(answers), dtype=np.int64)
    return noisy, changed, answers


def baseline_probs(texts, labels: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """The ten lines a practitioner writes: word 1-2-gram TF-IDF, one default LogisticRegression per label."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    probs = np.zeros(labels.shape)
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        vectorizer = TfidfVectorizer(ngram_range=(1, 2))
        x_train = vectorizer.fit_transform([t for t, m in zip(texts, train) if m])
        x_test = vectorizer.transform([t for t, m in zip(texts, test) if m])
        for j in range(labels.shape[1]):
            y = labels[train, j]
            if y.min() == y.max():
                probs[test, j] = float(y.max())
                continue
            probs[test, j] = LogisticRegression(max_iter=1000).fit(x_train, y).predict_proba(x_test)[:, 1]
    return probs


def baseline_ranking(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """cleanlab's flagged rows first, in its self-confidence order, then the rest by the same score."""
    from cleanlab.multilabel_classification import filter as ml_filter
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    sets = [list(np.flatnonzero(r)) for r in labels]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        issues = ml_filter.find_label_issues(sets, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
        score = 1.0 - get_label_quality_scores(sets, probs)
    score[issues] = 2.0 + np.linspace(1.0, 0.0, len(issues), endpoint=False)
    return score


def naive_guess(labels: np.ndarray, probs: np.ndarray) -> list[str]:
    """The practitioner's "which label": the label whose probability is furthest from its given 0/1."""
    gap = np.abs(labels - probs)
    j = gap.argmax(axis=1)
    return [("+" if labels[i, jj] == 0 else "-") + str(jj) for i, jj in enumerate(j)]


def evaluate(score: np.ndarray, guesses, changed: np.ndarray, answers: dict, k: int | None = None) -> dict:
    """AP and recall@k of the example ranking; share of planted rows in the top k whose guess is right."""
    from sklearn.metrics import average_precision_score

    truth = np.zeros(len(score), dtype=bool)
    truth[changed] = True
    k = k or len(changed)
    top = np.argsort(-score, kind="stable")[:k]
    found = [int(r) for r in top if truth[r]]
    right = sum(guesses[r] in answers[r] for r in found)
    return {"ap": float(average_precision_score(truth, score)), "recall_at_k": len(found) / max(1, len(changed)),
            "k": int(k), "found_in_top_k": len(found), "which_label_right": right / max(1, len(found))}


def noisy_frame(texts, noisy: np.ndarray, names) -> pd.DataFrame:
    """A DataFrame with joined label ids, as GoEmotions keeps them."""
    return pd.DataFrame({"text": list(texts),
                         "labels": [",".join(str(j) for j in np.flatnonzero(r)) for r in noisy]})
