"""The pieces that keep a million-row run fast and small (measured in benchmarks/scale.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auditor.runfiles import write_csv
from auditor.scoring import duplicates, label_quality
from auditor.scoring.combine import reasons


def _reference_reasons(table, labels, probs, names):
    """The definition, one row at a time."""
    out = []
    for i, given in enumerate(labels):
        parts, best = [], int(probs[i].argmax())
        if best != given:
            parts.append(f"model gives {names[best]} {probs[i, best]:.2f}, labelled {names[given]} ({probs[i, given]:.2f})")
        elif table["is_label_quality_issue"].iat[i]:
            parts.append(f"low confidence in {names[given]} ({probs[i, given]:.2f})")
        for column in ("duplicate_reason", "dynamics_reason"):
            value = table[column].iat[i] if column in table else None
            if isinstance(value, str) and value:
                parts.append(value)
        if "is_outlier_issue" in table and table["is_outlier_issue"].iat[i]:
            parts.append("outlier: far from other texts")
        out.append("; ".join(parts))
    return out


@pytest.mark.parametrize("extra", [(), ("duplicate_reason",), ("duplicate_reason", "dynamics_reason", "outliers")])
def test_vectorised_reasons_match_the_definition(extra):
    rng = np.random.default_rng(len(extra))
    n, k = 3000, 4
    probs, labels = rng.dirichlet(np.full(k, 0.5), n), rng.integers(0, k, n)
    table = pd.DataFrame({"is_label_quality_issue": rng.random(n) < 0.3})
    if "duplicate_reason" in extra:
        table["duplicate_reason"] = np.where(rng.random(n) < 0.1, "same text labelled c1 at id 7", "")
    if "dynamics_reason" in extra:
        words = np.where(rng.random(n) < 0.1, "hard to learn", None).astype(object)
        words[::50] = np.nan
        table["dynamics_reason"] = words
    if "outliers" in extra:
        table["is_outlier_issue"] = rng.random(n) < 0.05
    names = ("c0", "c1", "c2", "c3")
    assert reasons(table, labels, probs, names) == _reference_reasons(table, labels, probs, names)


def test_many_texts_compare_near_duplicates_on_tfidf_not_embeddings(monkeypatch):
    texts = ["the cat sat on the mat", "the cat sat on the mat!", "the cat sat on a mat", "dogs bark", "dogs bark"]
    labels, probs = np.array([0, 1, 1, 0, 1]), np.full((5, 2), 0.5)
    # Embeddings that put row 2 next to the dogs, and far from the other cats.
    embeddings = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    dense = duplicates.score_duplicates(labels, probs, texts=texts, embeddings=embeddings, duplicate_threshold=0.5)
    assert "at id 3" in dense["duplicate_reason"].iat[2]
    monkeypatch.setattr(duplicates, "NEAR_SEARCH_MAX_UNITS", 2)  # 3 distinct texts: too many for the dense search
    tfidf = duplicates.score_duplicates(labels, probs, texts=texts, embeddings=embeddings, duplicate_threshold=0.5)
    assert "near-duplicate" in tfidf["duplicate_reason"].iat[2] and "at id 0" in tfidf["duplicate_reason"].iat[2]
    assert tfidf["duplicate_group"].tolist() == [0, 0, 0, 1, 1]


def test_batched_label_issue_search_agrees_with_the_whole(monkeypatch):
    rng = np.random.default_rng(0)
    n, k = 3000, 5
    truth = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), truth] += 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.1, (truth + 1) % k, truth)
    whole = label_quality.find_issues(labels, probs)
    monkeypatch.setattr(label_quality, "BATCHED_ABOVE", 100)
    batched = label_quality.find_issues(labels, probs)
    assert batched.dtype == bool and batched.shape == (n,)
    flipped = labels != truth
    assert flipped[batched].mean() > 0.8  # what it flags is mostly real
    assert (batched & whole).sum() >= 0.8 * batched.sum()  # and mostly what the whole search flags


def test_arrow_csv_reads_back_like_pandas_csv(tmp_path):
    frame = pd.DataFrame({
        "id": [0, 1, 2],
        "text": ['say "hi", then\nleave', "=SUM(A1)", "plain"],
        "is_label_issue": [True, False, True],
        "score": [0.1, 1 / 3, 2e-17],
        "reason": ["a; b", None, ""],
    })
    write_csv(frame, tmp_path / "arrow.csv", neutralise=False)  # the values as they are, as pandas writes them
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    read = [pd.read_csv(tmp_path / name, keep_default_na=False) for name in ("arrow.csv", "pandas.csv")]
    pd.testing.assert_frame_equal(*read)
    assert read[0]["score"].tolist() == frame["score"].tolist()  # floats round-trip exactly
    write_csv(frame, tmp_path / "safe.csv")  # by default spreadsheet-safe: the formula gets its apostrophe
    assert pd.read_csv(tmp_path / "safe.csv", keep_default_na=False)["text"].tolist()[1] == "'=SUM(A1)"


def test_csv_falls_back_to_pandas_for_columns_arrow_cannot_write(tmp_path):
    frame = pd.DataFrame({"id": [0, 1], "tokens": [["a", "b"], ["c"]]})
    write_csv(frame, tmp_path / "scores.csv")
    assert pd.read_csv(tmp_path / "scores.csv")["tokens"].tolist() == ["['a', 'b']", "['c']"]



def test_outlier_search_with_a_reference_sample_finds_planted_outliers():
    from auditor.scoring.outliers import knn_distance

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16)) * 4
    points = centres[rng.integers(0, 5, 3000)] + rng.normal(size=(3000, 16))
    far = rng.choice(3000, 15, replace=False)
    points[far] = rng.normal(size=(15, 16)) * 12  # off every cluster
    exact = knn_distance(points, 10, reference=3000)
    sampled = knn_distance(points, 10, reference=300)
    assert sampled.shape == (3000,) and np.isfinite(sampled).all() and (sampled >= 0).all()
    # Both put the planted outliers on top; the sample never counts a row as its own neighbour.
    for score in (exact, sampled):
        assert set(np.argsort(-score)[:15]) == set(far)
    assert np.corrcoef(exact, sampled)[0, 1] > 0.9


def test_outlier_search_is_exact_up_to_the_bound(monkeypatch):
    from auditor.scoring import outliers

    points = np.random.default_rng(1).normal(size=(400, 8))
    exact = outliers.knn_distance(points, 5)
    monkeypatch.setattr(outliers, "EXACT_MAX_ROWS", 100)
    monkeypatch.setattr(outliers, "REFERENCE_ROWS", 399)
    sampled = outliers.knn_distance(points, 5)
    # 399 of 400 rows as reference: only the one missing row can change anybody's neighbours.
    assert np.isclose(exact, sampled).mean() > 0.9 and not np.array_equal(exact, sampled)


def test_outlier_features_fitted_on_a_sample_still_find_off_topic_texts(monkeypatch):
    from auditor.scoring import outliers

    rng = np.random.default_rng(2)
    topics = [[f"{t}word{i}" for i in range(30)] for t in "abc"]
    texts = [" ".join(rng.choice(topics[i % 3], 8)) for i in range(600)]
    odd = [5, 250, 499]
    for i in odd:
        texts[i] = "zebra quantum violin harbour " + texts[i].split()[0]
    monkeypatch.setattr(outliers, "EXACT_MAX_ROWS", 300)  # fit vocabulary and LSA on 300 texts, 2 blocks
    monkeypatch.setattr(outliers, "_BLOCK", 256)
    features = outliers._features(texts, None, 0)
    assert features.shape[0] == 600 and np.isfinite(features).all()
    score = outliers.knn_distance(features, 5, reference=600)
    assert set(np.argsort(-score)[:3]) == set(odd)


def _brute_pairs(vectors, threshold):
    sims = (vectors @ vectors.T).toarray()
    a, b = np.nonzero(np.triu(sims >= threshold, k=1))
    return a, b


@pytest.mark.parametrize("threshold", [0.95, 0.8, 0.5])
def test_near_duplicate_search_finds_exactly_the_pairs_of_a_full_comparison(threshold):
    """Prefix filtering on long and short texts, common words everywhere: the same pairs as n × n."""
    rng = np.random.default_rng(3)
    words = np.array([f"w{i}" for i in range(300)])
    zipf = 1 / np.arange(1, 301)
    texts = [" ".join(rng.choice(words, rng.integers(3, 200), p=zipf / zipf.sum())) for _ in range(400)]
    texts += [t + " extra" for t in texts[:40]] + [" ".join(t.split()[:-2]) for t in texts[40:80]]
    _, first = duplicates._exact_units(texts)
    vectors = duplicates._unit_vectors(texts, first, None).tocsr()
    a, b, sim = duplicates._sparse_pairs(vectors, threshold)
    want_a, want_b = _brute_pairs(vectors, threshold)
    assert len(a) >= 40 and np.array_equal(a, want_a) and np.array_equal(b, want_b)


def test_hashed_near_duplicate_vectors_find_the_same_pairs(monkeypatch):
    rng = np.random.default_rng(4)
    words = np.array([f"w{i}" for i in range(500)])
    texts = [" ".join(rng.choice(words, 60)) for _ in range(300)]
    texts += [t.rsplit(" ", 1)[0] for t in texts[:30]]
    _, first = duplicates._exact_units(texts)
    exact = duplicates._sparse_pairs(duplicates._unit_vectors(texts, first, None).tocsr(), 0.95)
    monkeypatch.setattr(duplicates, "HASHED_ABOVE_UNITS", 10)
    hashed_vectors = duplicates._unit_vectors(texts, first, None).tocsr()
    assert hashed_vectors.shape[1] < 2**24  # empty buckets dropped
    hashed = duplicates._sparse_pairs(hashed_vectors, 0.95)
    assert len(exact[0]) >= 30
    assert np.array_equal(exact[0], hashed[0]) and np.array_equal(exact[1], hashed[1])
    assert np.allclose(exact[2], hashed[2], atol=1e-3)  # a rare bucket collision moves a cosine a little
