"""Outliers: examples far from the rest of the data in feature space (not label issues by themselves).

`outlier_score` is the mean cosine distance to the `k` nearest other examples (the kNN score that
cleanlab's `OutOfDistribution` uses, without its rescaling). Features are the run's embeddings when
it has them, else TF-IDF vectors reduced to `_LSA_DIMS` dimensions (latent semantic analysis), so the
tfidf backend gets an outlier score without a neural encoder. The `share` most atypical rows are
flagged: on short texts the distances bunch up, and cleanlab's IQR fence flagged nothing on emotion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import Score, Section, Signal

__all__ = ["DEFAULT_K", "DEFAULT_SHARE", "score_outliers", "knn_distance"]

DEFAULT_K = 10
DEFAULT_SHARE = 0.01
_LSA_DIMS = 100


def score_outliers(
    labels, pred_probs, texts=None, embeddings=None, seed: int = 0, k: int = DEFAULT_K,
    outlier_share: float = DEFAULT_SHARE,
) -> pd.DataFrame:
    """`outlier_score` (higher = more atypical) and `is_outlier_issue` (the `outlier_share` highest scores)."""
    features = _features(texts, embeddings, seed)
    n = features.shape[0]
    if n < 3:  # no neighbourhood to compare with
        return pd.DataFrame({"outlier_score": np.zeros(n), "is_outlier_issue": np.zeros(n, dtype=bool)})
    score = knn_distance(features, min(k, n - 1))
    flagged = int(np.floor(outlier_share * n))
    is_issue = np.zeros(n, dtype=bool)
    if flagged:
        is_issue[np.argsort(-score, kind="stable")[:flagged]] = True
    return pd.DataFrame({"outlier_score": score, "is_outlier_issue": is_issue})


def knn_distance(features: np.ndarray, k: int) -> np.ndarray:
    """Mean cosine distance from each row to its `k` nearest other rows."""
    from sklearn.neighbors import NearestNeighbors
    from sklearn.preprocessing import normalize

    unit = normalize(np.asarray(features, dtype=np.float32))
    # On unit vectors Euclidean distance orders like cosine distance and has faster kernels: cos = d² / 2.
    distances, _ = NearestNeighbors(n_neighbors=k).fit(unit).kneighbors()  # no query: each row skips itself
    return (distances.astype(np.float64) ** 2 / 2).mean(axis=1)


def _features(texts, embeddings, seed):
    if embeddings is not None:
        return np.asarray(embeddings, dtype=np.float32)
    if texts is None:
        raise ValueError("score_outliers needs embeddings or texts.")
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        tfidf = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b", dtype=np.float32).fit_transform(texts)
    except ValueError:  # no word in any text
        return np.zeros((len(texts), 1), dtype=np.float32)
    dims = min(_LSA_DIMS, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    if dims < 2:
        return tfidf.toarray()
    return TruncatedSVD(n_components=dims, random_state=seed).fit_transform(tfidf)


SIGNAL = Signal(
    "outliers", score_outliers, columns=("outlier_score", "is_outlier_issue"),
    scores=(Score("outlier", "outlier_score"),), flag="is_outlier_issue",
    reason=lambda table, *_: np.where(table["is_outlier_issue"].to_numpy(dtype=bool),
                                      "outlier: far from other texts", "").astype(object),
    reason_order=30,
    section=Section("outlier_score", "Outliers",
                    "Examples far from the rest of the data (higher = more unusual). An outlier is often not a "
                    "mislabel but still worth a look."),
    benchmark=(("outlier", "outlier", "self_confidence"),),
    default=True, order=3,
)
