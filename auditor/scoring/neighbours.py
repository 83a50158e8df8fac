"""Nearest labelled examples: the evidence an annotator reads beside a suspect.

`nearest_neighbours(features, labels, rows)` returns, for each queried row, its `k` most similar other
rows by cosine, their similarities and how many of them carry each class ("4 of the 5 most similar
texts are labelled sadness"). `features` are what the run already has: its sentence embeddings, or
else `text_features(texts)` (TF-IDF). Only the rows an annotator is given are queried, so the cost is
queries × n similarity cells, not n²: the search runs in blocks of queries whose similarity block holds
at most `block_cells` values, which bounds memory at any n.

A run queries every flagged row, then the other rows by rank, up to `EVIDENCE_CELLS` = 10^9 cells
(queries × n) but never fewer than the report's `EVIDENCE_ROWS` = 2,000 rows (`evidence_rows`). Measured
(BENCHMARKS.md, "Neighbour evidence"): on 74,263 real texts the TF-IDF took 1.0 s of CPU and the search
2.5·10^-9 s per cell (7,446 flagged rows, 5.5·10^8 cells: 1.4 s); on 100,000 embeddings (384-d),
10^9 cells took 22 s of CPU. So 10^9 cells cost seconds with TF-IDF and about as much as the embedding
of a few thousand texts with embeddings, and cover every flagged row of a run of 100,000 rows at 10%
flagged. Above that (1,000,000 rows: the 2,000-row floor) the flagged rows past the budget say so
(`NOT_SEARCHED`), and `fill_neighbours` computes on demand the rows that `export` and `report` write.

`neighbour_columns` turns the result into the scores table's columns: `neighbour_ids` and
`neighbour_similarities` (JSON lists, empty for rows not queried) and `neighbours`, one readable line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..safeio import plain

__all__ = ["K_NEIGHBOURS", "EVIDENCE_ROWS", "Neighbours", "nearest_neighbours", "text_features",
           "evidence_rows", "neighbour_columns", "NEIGHBOUR_COLUMNS", "EVIDENCE_CELLS", "fill_neighbours",
           "NOT_SEARCHED"]

K_NEIGHBOURS = 5
# Rows queried per run (`evidence_rows`): at least as many as the report's suspects table embeds,
EVIDENCE_ROWS = 2000
# and every flagged row while queries × rows stays within this many similarity cells (seconds: see above).
EVIDENCE_CELLS = 10**9
NOT_SEARCHED = "not searched in the run (over its neighbour budget): `auditor export RUN_DIR` adds them"
NEIGHBOUR_COLUMNS = ("neighbour_ids", "neighbour_similarities", "neighbours")


@dataclass(frozen=True)
class Neighbours:
    """`index[i]`: positions of the neighbours of `rows[i]`, most similar first (-1 pads rows with fewer
    than k neighbours of positive similarity); `similarity[i]`: their cosines (NaN pads);
    `class_counts[i, c]`: how many of them are labelled c."""

    rows: np.ndarray
    index: np.ndarray
    similarity: np.ndarray
    class_counts: np.ndarray


def text_features(texts) -> sparse.csr_matrix:
    """TF-IDF rows (L2-normalised) for runs with no embeddings.

    Unigrams with sublinear tf, and words in more than 5% of the texts (at least 100 texts) dropped.
    Measured on emotion's 16,000 training rows, 2,000 queried, k=5: keeping every word, 58.9% of the
    neighbours carried the row's label and the majority label was the row's for 71.0%, in 4.4 s;
    dropping words in more than 5% of texts, 64.7% and 77.6%, in 0.42 s. Frequent words say little
    about the class, and their long posting lists are what makes a sparse similarity search slow.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["" if t is None else str(t) for t in texts]
    try:
        vectorizer = TfidfVectorizer(sublinear_tf=True, max_df=max(100, len(texts) // 20),
                                     token_pattern=r"(?u)\b\w+\b", dtype=np.float32)
        return vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no word at all survives (empty or one-word-everywhere data): no evidence
        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)


def nearest_neighbours(features, labels, rows, k: int = K_NEIGHBOURS, n_classes: int | None = None,
                       block_cells: int = 2**24) -> Neighbours:
    """The `k` nearest other rows (cosine on `features`, n × d dense or sparse) of each position in `rows`."""
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64).ravel()
    n = len(labels)
    if features.shape[0] != n:
        raise ValueError(f"features have {features.shape[0]} rows; expected {n} (one per label).")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"The 'k' parameter must be an int >= 1. Got {k!r} instead.")
    n_classes = int(n_classes if n_classes is not None else (labels.max() + 1 if n else 0))
    unit, unit_t = _unit_rows(features)
    index = np.full((len(rows), k), -1, dtype=np.int64)
    similarity = np.full((len(rows), k), np.nan, dtype=np.float64)
    block = int(np.clip(block_cells // max(n, 1), 1, 1024))
    for start in range(0, len(rows), block):
        queries = rows[start:start + block]
        sims = unit[queries] @ unit_t
        top = _top_sparse(sims, queries, k) if sparse.issparse(sims) else _top_dense(np.asarray(sims), queries, k)
        index[start:start + len(queries)], similarity[start:start + len(queries)] = top
    counts = np.zeros((len(rows), n_classes), dtype=np.int64)
    found = index >= 0
    np.add.at(counts, (np.nonzero(found)[0], labels[index[found]]), 1)
    return Neighbours(rows, index, similarity, counts)


def _unit_rows(features):
    """Rows scaled to unit length (zero rows stay zero), and the transpose the product wants."""
    if sparse.issparse(features):
        x = sparse.csr_matrix(features, dtype=np.float32)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        x = sparse.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0).astype(np.float32)) @ x
        return x.tocsr(), x.T.tocsr()
    x = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return x, x.T


def _top_dense(sims: np.ndarray, queries: np.ndarray, k: int):
    sims = np.asarray(sims)  # a fresh product: safe to change in place
    sims[np.arange(len(queries)), queries] = -np.inf  # a row is not its own neighbour
    kk = min(k, sims.shape[1])
    part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < sims.shape[1] else np.argsort(-sims, axis=1)
    values = np.take_along_axis(sims, part, axis=1)
    order = np.lexsort((part, -values), axis=1)  # most similar first; ties by position, so results repeat
    part, values = np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)
    return _pad(part, values, k)


def _top_sparse(sims, queries: np.ndarray, k: int):
    """Per-row top k over the nonzero similarities only: a sparse block is never made dense."""
    sims = sims.tocsr()
    index = np.full((len(queries), k), -1, dtype=np.int64)
    values = np.full((len(queries), k), np.nan)
    for i, q in enumerate(queries.tolist()):
        lo, hi = sims.indptr[i], sims.indptr[i + 1]
        cols, data = sims.indices[lo:hi], sims.data[lo:hi].astype(np.float64)
        keep = (cols != q) & (data > 0)
        cols, data = cols[keep], data[keep]
        if len(data) > k:
            pick = np.argpartition(-data, k - 1)[:k]
            cols, data = cols[pick], data[pick]
        order = np.lexsort((cols, -data))
        index[i, :len(order)], values[i, :len(order)] = cols[order], data[order]
    return index, values


def _pad(index: np.ndarray, values: np.ndarray, k: int):
    """Keep only positive similarities (a zero cosine shares nothing) and pad to k columns."""
    out_index = np.full((len(index), k), -1, dtype=np.int64)
    out_values = np.full((len(index), k), np.nan)
    width = index.shape[1]
    keep = np.isfinite(values) & (values > 0)
    out_index[:, :width] = np.where(keep, index, -1)
    out_values[:, :width] = np.where(keep, values, np.nan)
    return out_index, out_values


def evidence_rows(rank, flagged, limit: int | None = None, budget_cells: int | None = None) -> np.ndarray:
    """Positions to query: flagged rows by rank, then the other rows by rank; every flagged row while
    queries × n stays within `budget_cells`, and never fewer than `limit` rows.

    `limit` (default `EVIDENCE_ROWS`) covers the report's suspects table (it embeds the first 2,000
    flagged rows), the top of suspects.csv and, where fewer rows are flagged, the top of `export --top N`;
    `budget_cells` defaults to `EVIDENCE_CELLS` (both read at call time).
    """
    limit = EVIDENCE_ROWS if limit is None else limit
    budget_cells = EVIDENCE_CELLS if budget_cells is None else budget_cells
    flagged = np.asarray(flagged, dtype=bool)
    order = np.lexsort((np.asarray(rank), ~flagged))
    affordable = int(budget_cells) // max(len(flagged), 1)
    return np.sort(order[:max(int(limit), min(int(flagged.sum()), affordable))])


def neighbour_columns(ids, labels, class_names, rank, flagged, texts=None, embeddings=None,
                      k: int = K_NEIGHBOURS, limit: int | None = None,
                      budget_cells: int | None = None) -> pd.DataFrame:
    """The scores table's neighbour columns for every row: "" where not queried, and `NOT_SEARCHED`
    in `neighbours` for a flagged row past the budget.

    Features: `embeddings` when the run has them, else TF-IDF of `texts`.
    """
    n = len(labels)
    rows = evidence_rows(rank, flagged, limit, budget_cells)
    out = pd.DataFrame({c: np.full(n, "", dtype=object) for c in NEIGHBOUR_COLUMNS})
    if n < 2 or len(rows) == 0:
        return out
    out.loc[np.asarray(flagged, dtype=bool), "neighbours"] = NOT_SEARCHED
    features = embeddings if embeddings is not None else text_features(texts)
    _write(out, rows, nearest_neighbours(features, labels, rows, k, n_classes=len(class_names)), ids, labels,
           class_names)
    return out


def fill_neighbours(scores: pd.DataFrame, positions, class_names, embeddings=None, k: int = K_NEIGHBOURS,
                    features_note="") -> pd.DataFrame:
    """`scores` with the neighbour columns filled for those of `positions` (into `scores`) that lack them.

    For rows a run did not query (`export --top N`, `report --max-rows N` past its budget): the same search
    over the run's `embeddings` when given (one row per scores row), else TF-IDF of the scores' texts;
    `features_note` (e.g. "TF-IDF", or a function returning it, called only then) starts each new readable
    line, saying which features were used. Rows are in scores order; labels are the scores' given labels.
    Nothing to fill: `scores` itself.
    """
    n = len(scores)
    ids = scores["neighbour_ids"] if "neighbour_ids" in scores else pd.Series("", index=scores.index)
    missing = ids.isna() | ids.astype(str).str.strip().isin(["", "nan"])
    positions = np.asarray(positions, dtype=np.int64).ravel()
    rows = np.unique(positions[missing.to_numpy()[positions]])
    if n < 2 or len(rows) == 0:
        return scores
    names = [str(c) for c in class_names]
    labels = pd.Index(names).get_indexer(scores["given_label"].astype(str))
    if (labels < 0).any():  # a label outside the run's classes: not this run's scores
        raise ValueError(f"given_label {scores['given_label'].iat[int(np.argmax(labels < 0))]!r} is not one of "
                         f"the run's classes {names}.")
    use_embeddings = embeddings is not None and len(embeddings) == n
    features = embeddings if use_embeddings else text_features(scores["text"].tolist())
    found = nearest_neighbours(features, labels, rows, k, n_classes=len(names))
    out = scores.reset_index(drop=True).copy()
    for column in NEIGHBOUR_COLUMNS:
        out[column] = out[column].astype(object).where(out[column].notna(), "") if column in out else ""
    note = "" if use_embeddings else features_note() if callable(features_note) else features_note
    _write(out, rows, found, scores["id"].to_numpy(), labels, names, prefix=f"{note}: " if note else "")
    return out.set_axis(scores.index)


def _write(out: pd.DataFrame, rows, found: Neighbours, ids, labels, class_names, prefix: str = "") -> None:
    """Put the readable neighbour columns of the queried `rows` into `out` (positions)."""
    ids = np.asarray(ids, dtype=object)
    labels = np.asarray(labels)
    names = [str(c) for c in class_names]
    id_lists, sim_lists, lines = [], [], []
    for index, sims, counts in zip(found.index, found.similarity, found.class_counts):
        keep = index >= 0
        near_ids = [plain(v) for v in ids[index[keep]]]  # ids are integers or text (data.parse_ids)
        near_sims = [round(float(s), 3) for s in sims[keep]]
        id_lists.append(json.dumps(near_ids, ensure_ascii=False))
        sim_lists.append(json.dumps(near_sims))
        lines.append(prefix + _readable(near_ids, near_sims, labels[index[keep]], counts, names))
    columns = [out.columns.get_loc(c) for c in NEIGHBOUR_COLUMNS]
    for column, values in zip(columns, (id_lists, sim_lists, lines)):
        out.iloc[rows, column] = values


def _readable(near_ids, near_sims, near_labels, counts, names) -> str:
    """'4/5 nearest labelled sadness: 0.91 id 12 (sadness); 0.88 id 40 (joy); ...'."""
    if not near_ids:
        return "no similar text"
    top = counts.max()
    best = next(int(c) for c in near_labels if counts[c] == top)  # a tie names the nearest one's class
    head = f"{counts[best]}/{len(near_ids)} nearest labelled {names[best]}"
    items = "; ".join(f"{s:.2f} id {i} ({names[c]})" for i, s, c in zip(near_ids, near_sims, near_labels))
    return f"{head}: {items}"
