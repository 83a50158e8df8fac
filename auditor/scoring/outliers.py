"""Outliers: examples far from the rest of the data in feature space (not label issues by themselves).

`outlier_score` is the mean cosine distance to the `k` nearest other examples (the kNN score that
cleanlab's `OutOfDistribution` uses, without its rescaling). Features are the run's embeddings when
it has them, else TF-IDF vectors reduced to `_LSA_DIMS` dimensions (latent semantic analysis), so the
tfidf backend gets an outlier score without a neural encoder. The `share` most atypical rows are
flagged: on short texts the distances bunch up, and cleanlab's IQR fence flagged nothing on emotion.

Above `EXACT_MAX_ROWS` rows the neighbours are searched among a fixed random sample of `REFERENCE_ROWS`
rows (a bounded reference set), so the cost grows linearly with the rows instead of with their square:
exact search spent 35 s of 37 on 100,000 rows and did not finish 1,000,000 in 14 minutes. What that costs
(benchmarks/outliers_reference.py, emotion, 16,000 rows): with 2,000 reference rows the scores keep a
Spearman correlation of 0.90 with the exact ones and 41% of the exact top 1%, in 0.15x the time (5,000:
0.96, 51%, 0.34x). Above `EXACT_MAX_ROWS` texts the TF-IDF vocabulary and the LSA are also fitted on a
sample of that many texts (every text is then projected): a randomized SVD's time grows with rows ×
vocabulary, 35 s of the 64 s that scoring 200,000 short texts took. Fitted on 5,000 of emotion's 16,000
texts, the 2,000-row reference search keeps a Spearman correlation of 0.86 with exact search on fully
fitted features and 34% of its top 1% (0.90 and 41% when fitted on all). The signal does not enter the ranking (alone it is at chance on planted flips), so the
label-issue ranking is unchanged; up to `EXACT_MAX_ROWS` (both development sets) the search is exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import Score, Section, Signal

__all__ = ["DEFAULT_K", "DEFAULT_SHARE", "EXACT_MAX_ROWS", "REFERENCE_ROWS", "score_outliers", "knn_distance"]

DEFAULT_K = 10
DEFAULT_SHARE = 0.01
EXACT_MAX_ROWS = 20_000
REFERENCE_ROWS = 2_000
_LSA_DIMS = 100
_BLOCK = 65_536  # texts projected at a time: bounds the sparse matrix of long texts


def score_outliers(
    labels, pred_probs, texts=None, embeddings=None, seed: int = 0, k: int = DEFAULT_K,
    outlier_share: float = DEFAULT_SHARE,
) -> pd.DataFrame:
    """`outlier_score` (higher = more atypical) and `is_outlier_issue` (the `outlier_share` highest scores)."""
    features = _features(texts, embeddings, seed)
    n = features.shape[0]
    if n < 3:  # no neighbourhood to compare with
        return pd.DataFrame({"outlier_score": np.zeros(n), "is_outlier_issue": np.zeros(n, dtype=bool)})
    score = knn_distance(features, min(k, n - 1), seed=seed)
    flagged = int(np.floor(outlier_share * n))
    is_issue = np.zeros(n, dtype=bool)
    if flagged:
        is_issue[np.argsort(-score, kind="stable")[:flagged]] = True
    return pd.DataFrame({"outlier_score": score, "is_outlier_issue": is_issue})


def knn_distance(features: np.ndarray, k: int, reference: int | None = None, seed: int = 0) -> np.ndarray:
    """Mean cosine distance from each row to its `k` nearest other rows: among all rows up to
    `EXACT_MAX_ROWS`, else among `reference` (default `REFERENCE_ROWS`) rows drawn at random."""
    from sklearn.neighbors import NearestNeighbors
    from sklearn.preprocessing import normalize

    unit = normalize(np.asarray(features, dtype=np.float32))
    n = len(unit)
    if reference is None:
        reference = n if n <= EXACT_MAX_ROWS else REFERENCE_ROWS
    # On unit vectors Euclidean distance orders like cosine distance and has faster kernels: cos = d² / 2.
    if n <= reference:
        distances, _ = NearestNeighbors(n_neighbors=k).fit(unit).kneighbors()  # no query: each row skips itself
        return (distances.astype(np.float64) ** 2 / 2).mean(axis=1)
    rows = np.sort(np.random.default_rng(seed).choice(n, size=reference, replace=False))
    distances, index = NearestNeighbors(n_neighbors=k + 1).fit(unit[rows]).kneighbors(unit)
    # A row of the sample finds itself first: drop that match, else the (k+1)-th.
    distances = np.where(rows[index] == np.arange(n)[:, None], np.inf, distances.astype(np.float64))
    nearest = np.sort(distances, axis=1)[:, :k]
    return (nearest**2 / 2).mean(axis=1)


def _features(texts, embeddings, seed, fit_rows: int | None = None):
    """Embeddings, else LSA of TF-IDF. Above `fit_rows` (default `EXACT_MAX_ROWS`) texts, the vocabulary,
    idf and LSA axes are fitted on a random sample of that many texts and every text is projected in
    blocks: a randomized SVD costs time with rows × vocabulary (27 s for 200,000 short texts)."""
    if embeddings is not None:
        return np.asarray(embeddings, dtype=np.float32)
    if texts is None:
        raise ValueError("score_outliers needs embeddings or texts.")
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = list(texts)
    fit_rows = EXACT_MAX_ROWS if fit_rows is None else fit_rows
    sample = None
    if len(texts) > fit_rows:
        sample = np.sort(np.random.default_rng(seed).choice(len(texts), fit_rows, replace=False))
    vectorizer = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b", dtype=np.float32)
    try:
        tfidf = vectorizer.fit_transform(texts if sample is None else [texts[i] for i in sample])
    except ValueError:  # no word in any text
        return np.zeros((len(texts), 1), dtype=np.float32)
    dims = min(_LSA_DIMS, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    svd = TruncatedSVD(n_components=dims, random_state=seed) if dims >= 2 else None
    if sample is None:
        return tfidf.toarray() if svd is None else svd.fit_transform(tfidf)
    if svd is not None:
        svd.fit(tfidf)
    out = np.empty((len(texts), dims if svd is not None else tfidf.shape[1]), dtype=np.float32)
    for start in range(0, len(texts), _BLOCK):
        block = vectorizer.transform(texts[start:start + _BLOCK])
        out[start:start + _BLOCK] = block.toarray() if svd is None else svd.transform(block)
    return out


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
