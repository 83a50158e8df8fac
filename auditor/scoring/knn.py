"""kNN label disagreement: how many of a row's nearest texts carry another label.

It needs no model: `knn_score` is the share of the `k` nearest other rows (cosine, on the run's
embeddings when it has them, else on TF-IDF word vectors) whose label differs from the row's.
`is_knn_issue` marks rows where at least `KNN_FLAG_SHARE` of them do. It is an optional signal
(`--signals knn`): it does not set `is_label_issue`, and the default ranking does not use it, because
it ranks worse than the model: on the 16,000 emotion rows with 10% uniform flips (TF-IDF vectors,
seeds 0 and 1) its AP was 0.625/0.591 with k = 10 and 0.749/0.709 with k = 25 (hence `KNN_K`), against
0.897 for label quality alone (`scoring.combine`); at 0.8 its flag found 87% of the flips at
precision 0.50.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import Score, Section, Signal

__all__ = ["KNN_K", "KNN_FLAG_SHARE", "score_knn"]

KNN_K = 25
KNN_FLAG_SHARE = 0.8


def score_knn(labels, pred_probs, texts=None, embeddings=None, class_names=None, k: int = KNN_K) -> pd.DataFrame:
    """`knn_score` (share of the k nearest rows labelled otherwise, higher = more suspect), `is_knn_issue`
    and `knn_reason` (words, for flagged rows)."""
    from sklearn.neighbors import NearestNeighbors

    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    k = min(k, n - 1)
    if k < 1:
        return pd.DataFrame({"knn_score": np.zeros(n), "is_knn_issue": np.zeros(n, dtype=bool), "knn_reason": ""})
    features = _vectors(texts, embeddings)
    _, neighbours = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(features).kneighbors()
    theirs = labels[neighbours]
    score = (theirs != labels[:, None]).mean(axis=1)
    flag = score >= KNN_FLAG_SHARE
    names = list(class_names) if class_names is not None else [str(i) for i in range(int(labels.max()) + 1)]
    reason = np.full(n, "", dtype=object)
    for i in np.flatnonzero(flag):
        other = np.bincount(theirs[i][theirs[i] != labels[i]]).argmax()
        reason[i] = f"{int(round(score[i] * k))} of its {k} nearest texts are labelled otherwise (most: {names[other]})"
    return pd.DataFrame({"knn_score": score, "is_knn_issue": flag, "knn_reason": reason})


def _vectors(texts, embeddings):
    if embeddings is not None:
        return np.asarray(embeddings, dtype=np.float32)
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        return TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b").fit_transform(texts)
    except ValueError:  # no word in any text: every row is as near as any other
        return np.ones((len(texts), 1), dtype=np.float32)


SIGNAL = Signal(
    "knn", score_knn, columns=("knn_score", "is_knn_issue", "knn_reason"),
    scores=(Score("knn_disagreement", "knn_score"),), flag="is_knn_issue", reason="knn_reason", reason_order=40,
    section=Section("knn_score", "Labelled unlike their neighbours",
                    f"Share of each example's {KNN_K} nearest texts that carry another label (higher = more suspect)."),
    benchmark=(("knn_disagreement", "knn_disagreement", "self_confidence"),),
    order=5,
)
