"""Exact and near-duplicate texts, and duplicates whose labels conflict.

Two rows are duplicates when their normalised texts are equal (lowercase, punctuation removed,
whitespace collapsed) or when the cosine similarity of their vectors is at least `threshold`
(embeddings when the run has them, else TF-IDF word 1-2-grams). Identical normalised texts are
merged first, so the near-duplicate search runs over distinct texts only: scikit-learn's chunked
radius search for dense embeddings, an exact candidate-pruned sparse product for TF-IDF vectors.
Memory grows with the number of candidate pairs, never with n².

A conflict is a row with a direct duplicate labelled differently: at least one copy is wrong.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
from scipy import sparse

from .registry import Score, Section, Signal

__all__ = ["DEFAULT_THRESHOLD", "HASHED_ABOVE_UNITS", "NEAR_SEARCH_MAX_UNITS", "normalize_text", "score_duplicates"]

DEFAULT_THRESHOLD = 0.95
# The dense radius search over embeddings compares every distinct text with every other, so its time
# grows with their square. Above this many distinct texts near duplicates are found with the pruned
# TF-IDF search instead, which stayed near linear on short texts (benchmarks/scale.py).
NEAR_SEARCH_MAX_UNITS = 50_000
# Above this many distinct texts their word 1-2-grams are hashed (2^24 buckets) instead of collected in a
# vocabulary: the vocabulary of 10,000 posts of ~1,900 characters held 1.5 million n-grams and took 15.4 s
# CPU to build and sort, hashing 3.8 s (200,000 short texts: 2.9 s and 1.6 s). Two texts' n-grams share a
# bucket by chance about 0.02 times per pair of 600-term posts, which cannot lift a cosine to 0.95.
HASHED_ABOVE_UNITS = 20_000
# Terms in at most this share of the texts (and at most _RARE_MAX texts) count as rare in the pair search.
_RARE_SHARE, _RARE_MAX = 0.01, 1000
_HASH_FEATURES = 2**24
_PUNCTUATION = re.compile(r"[^\w\s]+")
_MAX_MENTIONS = 3


def normalize_text(text: str) -> str:
    """Lowercase, drop punctuation, collapse whitespace: 'I'm  FINE!' and 'im fine' compare equal."""
    return " ".join(_PUNCTUATION.sub("", str(text).lower()).split())


def score_duplicates(
    labels,
    pred_probs,
    texts=None,
    embeddings=None,
    ids=None,
    class_names=None,
    duplicate_threshold: float | None = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Duplicate groups and conflicting-label duplicates.

    Columns: `duplicate_group` (-1 = no duplicate; otherwise the same number for all rows linked by
    duplicate pairs), `is_conflicting_duplicate_issue` (a direct duplicate carries another label),
    `conflicting_duplicate_score` (0 without a conflict; else 1 − p(given label) under the mean
    probabilities of the row and its duplicates, so the copy whose label the model trusts less scores
    higher) and `duplicate_reason` (words, e.g. "same text labelled anger at id 1234").
    `duplicate_threshold` None or ≥ 1 looks for exact duplicates only. With more than
    `NEAR_SEARCH_MAX_UNITS` distinct texts, near duplicates are compared on TF-IDF, not on `embeddings`.
    """
    if texts is None:
        raise ValueError("score_duplicates needs the texts.")
    labels = np.asarray(labels, dtype=np.int64)
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    n = len(labels)
    ids = np.arange(n) if ids is None else np.asarray(ids)
    names = list(class_names) if class_names is not None else [str(i) for i in range(pred_probs.shape[1])]

    unit_of, first_row = _exact_units(texts)
    near = _near_pairs(texts, first_row, embeddings, duplicate_threshold)
    adjacency = _unit_adjacency(len(first_row), near)
    group = _groups(unit_of, adjacency)

    n_conflicting, score = _conflicts(labels, pred_probs, unit_of, adjacency)
    conflict = n_conflicting > 0
    reasons = _reasons(n_conflicting, labels, unit_of, near, ids, names)
    return pd.DataFrame(
        {
            "duplicate_group": group,
            "is_conflicting_duplicate_issue": conflict,
            "conflicting_duplicate_score": score,
            "duplicate_reason": reasons,
        }
    )


def _exact_units(texts):
    """Each row's 'unit' (distinct normalised text) and the first row of every unit."""
    # A text of punctuation only normalises to '': keep it as written, so '!!' and '??' stay apart.
    codes, _ = pd.factorize(pd.Series([normalize_text(t) or str(t).strip() for t in texts]), sort=False)
    _, first_row = np.unique(codes, return_index=True)  # codes are 0..units-1
    return codes.astype(np.int64), first_row.astype(np.int64)


def _near_pairs(texts, first_row, embeddings, threshold):
    """(unit_a, unit_b, cosine) for distinct units at least `threshold` similar, a < b."""
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    if threshold is None or threshold >= 1.0 or len(first_row) < 2:
        return empty
    if len(first_row) > NEAR_SEARCH_MAX_UNITS:
        embeddings = None
    vectors = _unit_vectors(texts, first_row, embeddings)
    if sparse.issparse(vectors):
        a, b, sim = _sparse_pairs(vectors.tocsr(), threshold)
    else:
        from sklearn.neighbors import NearestNeighbors

        index = NearestNeighbors(radius=1.0 - threshold, metric="cosine", algorithm="brute").fit(vectors)
        distances, neighbours = index.radius_neighbors(vectors, return_distance=True)
        a = np.repeat(np.arange(len(first_row)), [len(x) for x in neighbours])
        if len(a) == 0:
            return empty
        b = np.concatenate(neighbours).astype(np.int64)
        sim = 1.0 - np.concatenate(distances)
    keep = a < b
    return a[keep], b[keep], np.clip(sim[keep], 0.0, 1.0)


def _sparse_pairs(vectors, threshold, block: int = 1024):
    """All pairs of rows of L2-normalised sparse `vectors` with cosine ≥ `threshold`, exactly, without
    the dense n × n product that common words ('i', 'feel') would cause.

    Each row's "key" terms are its rarest terms up to the point where the rest has norm below
    `threshold` (prefix filtering), kept only if rare (in at most `_RARE_SHARE` of rows, at most
    `_RARE_MAX`). Entries are non-negative, so cosine(a, b) ≤ a·keys(b) + keys(a)·b + ‖rest of a‖ ·
    ‖rest of b‖ (Cauchy–Schwarz on the rests). A row's rest is below `threshold` unless a common
    term is among its keys; so candidates are the pairs of `vectors @ keys.T` and its transpose (row
    block by row block) that the rests could still lift to the threshold, plus pairs of rows whose
    rest alone reaches it (compared in full). Every candidate is then scored exactly. Keeping only the
    rarest terms as keys keeps the posting lists short: with every rare term as a key, 30,000 posts of
    ~1,900 characters gave billions of candidate pairs through terms of middling frequency.
    """
    keys, rest_norm = _keys(vectors, threshold)
    slack = threshold - 1e-6
    found = []
    keys_t, vectors_t = keys.T.tocsr(), vectors.T.tocsr()
    for start in range(0, vectors.shape[0], block):
        rows = slice(start, start + block)
        product = (vectors[rows] @ keys_t + keys[rows] @ vectors_t).tocoo()
        a, b, key_dot = product.row + start, product.col, product.data
        maybe = (a < b) & (key_dot + rest_norm[a] * rest_norm[b] >= slack)
        found.append(_exact_pairs(vectors, a[maybe], b[maybe], threshold))
    heavy = np.flatnonzero(rest_norm >= slack)
    for start in range(0, len(heavy), block):
        product = (vectors[heavy[start : start + block]] @ vectors[heavy].T).tocoo()
        a, b = heavy[product.row + start], heavy[product.col]
        keep = (a < b) & (product.data >= threshold)
        found.append((a[keep], b[keep], product.data[keep]))
    a, b, sim = (np.concatenate(parts) for parts in zip(*found))
    pairs, first = np.unique(np.stack([a, b], axis=1), axis=0, return_index=True)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64), sim[first].astype(np.float64)


def _keys(vectors, threshold):
    """Each row's key terms (a copy of `vectors` with the other terms removed) and the norm of the
    others: its commonest terms while their norm stays below `threshold` (a margin for rounding),
    and any common term."""
    n = vectors.shape[0]
    df = np.bincount(vectors.indices, minlength=vectors.shape[1])
    # One entry per stored value (60 million for 100,000 posts): small types, temporaries freed early.
    row = np.repeat(np.arange(n, dtype=np.int32), np.diff(vectors.indptr))
    order = np.lexsort((vectors.indices, -df[vectors.indices], row))  # per row: commonest term first
    running = np.cumsum(vectors.data[order].astype(np.float64) ** 2)
    running -= np.repeat(np.concatenate(([0.0], running))[vectors.indptr[:-1]], np.diff(vectors.indptr))
    rest = np.empty(len(order), dtype=bool)
    rest[order] = running < (threshold - 1e-4) ** 2
    del order, running
    rest |= df[vectors.indices] > max(2, min(_RARE_SHARE * n, _RARE_MAX))
    rest_sq = np.bincount(row[rest], weights=vectors.data[rest].astype(np.float64) ** 2, minlength=n)
    keys = vectors.copy()
    keys.data = np.where(rest, 0, keys.data)
    keys.eliminate_zeros()
    return keys, np.sqrt(rest_sq)


def _exact_pairs(vectors, a, b, threshold):
    if len(a) == 0:
        return a, b, np.empty(0)
    sim = np.asarray(vectors[a].multiply(vectors[b]).sum(axis=1)).ravel()
    keep = sim >= threshold
    return a[keep], b[keep], sim[keep]


def _unit_vectors(texts, first_row, embeddings):
    if embeddings is not None:
        return np.asarray(embeddings)[first_row]
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer

    distinct = [normalize_text(texts[i]) for i in first_row]
    # token_pattern keeps one-letter words ('i', 'a'): short texts differ by little else.
    words = dict(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b")
    try:
        if len(distinct) <= HASHED_ABOVE_UNITS:
            return TfidfVectorizer(sublinear_tf=True, **words).fit_transform(distinct)
        counts = HashingVectorizer(n_features=_HASH_FEATURES, alternate_sign=False, norm=None, **words)
        return TfidfTransformer(sublinear_tf=True).fit_transform(_used_columns(counts.transform(distinct)))
    except ValueError:  # every text empty after normalisation (e.g. only punctuation)
        return sparse.csr_matrix((len(distinct), 1))


def _used_columns(matrix):
    """`matrix` without its empty columns (hashing leaves most of its 2^24 buckets empty)."""
    matrix = matrix.tocsr()
    used, columns = np.unique(matrix.indices, return_inverse=True)
    return sparse.csr_matrix((matrix.data, columns, matrix.indptr), shape=(matrix.shape[0], max(len(used), 1)))


def _unit_adjacency(n_units, near):
    """Symmetric unit graph with self-loops: a unit is a duplicate of itself and its near neighbours."""
    a, b, _ = near
    rows = np.concatenate([np.arange(n_units), a, b])
    cols = np.concatenate([np.arange(n_units), b, a])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_units, n_units))


def _groups(unit_of, adjacency):
    from scipy.sparse.csgraph import connected_components

    _, component = connected_components(adjacency, directed=False)
    row_component = component[unit_of]
    alone = np.bincount(row_component)[row_component] == 1
    # factorize numbers groups 0, 1, 2, ... in order of first appearance; singletons (NaN) get -1.
    group, _ = pd.factorize(pd.Series(row_component, dtype="float64").mask(alone))
    return group.astype(np.int64)


def _conflicts(labels, pred_probs, unit_of, adjacency):
    n, n_units, k = len(labels), adjacency.shape[0], pred_probs.shape[1]
    members = sparse.csr_matrix((np.ones(n), (unit_of, np.arange(n))), shape=(n_units, n))
    one_hot = sparse.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, k))
    # Per unit, over the unit and its near neighbours: rows, rows per label, summed probabilities.
    around_counts = (adjacency @ (members @ one_hot)).tocsr()
    around_probs = adjacency @ (members @ pred_probs)
    around_rows = np.asarray((adjacency @ members).sum(axis=1)).ravel()
    same = np.asarray(around_counts[unit_of, labels]).ravel()
    n_conflicting = np.rint(around_rows[unit_of] - same).astype(np.int64)
    p_given = around_probs[unit_of, labels] / around_rows[unit_of]
    return n_conflicting, np.where(n_conflicting > 0, 1.0 - p_given, 0.0)


def _reasons(n_conflicting, labels, unit_of, near, ids, names):
    reasons = np.full(len(labels), "", dtype=object)
    rows = np.flatnonzero(n_conflicting)
    if len(rows) == 0:
        return reasons
    a, b, sim = near
    neighbours: dict[int, list[tuple[int, float]]] = {}
    for x, y, s in zip(a.tolist(), b.tolist(), sim.tolist()):
        neighbours.setdefault(x, []).append((y, s))
        neighbours.setdefault(y, []).append((x, s))
    order = np.argsort(unit_of, kind="stable")
    starts = np.searchsorted(unit_of[order], np.arange(unit_of.max() + 2))

    def members(unit):
        return order[starts[unit] : starts[unit + 1]]

    def conflicting(unit, label):
        # Same text first, then near duplicates, most similar first; lazily, as a group can be huge.
        for other, s in [(unit, None), *sorted(neighbours.get(unit, []), key=lambda x: -x[1])]:
            rows_there = members(other)
            yield from ((j, s) for j in rows_there[labels[rows_there] != label][:_MAX_MENTIONS])

    said: dict[tuple[int, int], list[str]] = {}  # rows of one unit and label read the same
    for i in rows:
        key = (int(unit_of[i]), int(labels[i]))
        if key not in said:
            said[key] = _mentions(itertools.islice(conflicting(*key), _MAX_MENTIONS), labels, ids, names)
        parts = list(said[key])
        if n_conflicting[i] > _MAX_MENTIONS:
            parts.append(f"{n_conflicting[i] - _MAX_MENTIONS} more conflicting duplicates")
        reasons[i] = "; ".join(parts)
    return reasons


def _mentions(pairs, labels, ids, names) -> list[str]:
    """'same text labelled anger at id 12' / 'at ids 12, 40'; near duplicates name their cosine."""
    grouped: dict[tuple, list] = {}
    for j, s in pairs:
        kind = "same text" if s is None else f"near-duplicate (cosine {s:.2f})"
        grouped.setdefault((kind, names[labels[j]]), []).append(str(ids[j]))
    return [
        f"{kind} labelled {label} at id{'s' * (len(at) > 1)} {', '.join(at)}" for (kind, label), at in grouped.items()
    ]


SIGNAL = Signal(
    "duplicates", score_duplicates,
    columns=("duplicate_group", "is_conflicting_duplicate_issue", "conflicting_duplicate_score", "duplicate_reason"),
    scores=(Score("conflicting_duplicate", "conflicting_duplicate_score"),),
    flag="is_conflicting_duplicate_issue", flags_label_issue=True,
    reason="duplicate_reason", reason_order=10,
    section=Section("duplicate_group", "Duplicates and conflicting labels",
                    "Groups of identical or near-identical texts; groups whose labels differ are label issues.",
                    kind="group", extra_columns=("is_conflicting_duplicate_issue", "duplicate_reason")),
    benchmark=(("conflicting_duplicate", "conflicting_duplicate", "self_confidence"),),
    default=True, order=2,
)
