"""Neighbour evidence: exact against brute force, planted flips, the scores columns it writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import easy_dataset, plant_flips

from auditor.scoring.neighbours import (evidence_rows, nearest_neighbours, neighbour_columns,
                                        text_features)


def _brute(features, rows, k):
    x = features.toarray() if hasattr(features, "toarray") else np.asarray(features, dtype=float)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    sims = x[rows] @ x.T
    sims[np.arange(len(rows)), rows] = -np.inf
    return np.sort(sims, axis=1)[:, ::-1][:, :k]


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_matches_brute_force_across_blocks(kind):
    rng = np.random.default_rng(0)
    if kind == "dense":
        features = rng.normal(size=(300, 16))
    else:
        texts = [" ".join(rng.choice([f"w{i}" for i in range(60)], 6)) for _ in range(300)]
        features = text_features(texts)
    labels = rng.integers(0, 4, 300)
    rows = np.array([0, 5, 17, 299, 150])
    # 900 cells per block = 3 queries: several blocks, one of them partial.
    found = nearest_neighbours(features, labels, rows, k=7, block_cells=900)
    assert found.index.shape == (5, 7) and not (found.index == rows[:, None]).any()
    np.testing.assert_allclose(found.similarity, _brute(features, rows, 7), rtol=1e-5, atol=1e-6)
    assert (np.diff(found.similarity, axis=1) <= 1e-7).all()  # most similar first
    counts = [np.bincount(labels[i], minlength=4) for i in found.index]
    np.testing.assert_array_equal(found.class_counts, counts)


def test_flipped_rows_neighbours_carry_their_true_label():
    clean = easy_dataset()
    noisy, flipped = plant_flips(clean, 9)
    names = sorted(clean["label"].unique())
    labels = noisy["label"].map(names.index).to_numpy()
    true = clean["label"].map(names.index).to_numpy()
    found = nearest_neighbours(text_features(noisy["text"]), labels, flipped, k=5, n_classes=3)
    agree_true = found.class_counts[np.arange(9), true[flipped]]
    agree_given = found.class_counts[np.arange(9), labels[flipped]]
    # Texts name their class, so similar texts share the true class; the planted label is rare among them.
    assert agree_true.sum() >= 0.8 * 45 and agree_given.sum() <= 0.2 * 45
    assert (found.class_counts.argmax(axis=1) == true[flipped]).all()


def test_zero_rows_and_duplicates():
    features = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    found = nearest_neighbours(features, np.array([0, 1, 0, 1]), [0, 2], k=3)
    # The copy first (cosine 1); orthogonal and empty rows share nothing, so they are not neighbours.
    assert found.index[0].tolist() == [1, -1, -1] and found.similarity[0, 0] == pytest.approx(1.0)
    assert found.index[1].tolist() == [-1, -1, -1] and found.class_counts[1].sum() == 0


def test_evidence_rows_are_flagged_rows_by_rank_then_the_rest():
    rank = np.array([5, 1, 4, 2, 3, 6])
    flagged = np.array([True, False, False, True, False, True])
    assert evidence_rows(rank, flagged, 2).tolist() == [0, 3]  # ranks 5 and 2, flagged
    assert evidence_rows(rank, flagged, 4).tolist() == [0, 1, 3, 5]  # then rank 1 unflagged
    assert evidence_rows(rank, flagged, 100).tolist() == list(range(6))


def test_neighbour_columns_name_ids_and_labels():
    texts = ["cheap pizza oven", "pizza oven bread", "oven pizza dinner", "python laptop code",
             "laptop python server", "goal match team"]
    ids = np.array([10, 2**60 + 1, 12, 13, 14, 15], dtype=object)
    labels = np.array([0, 0, 1, 1, 1, 2])
    columns = neighbour_columns(ids, labels, ["food", "tech", "sport"], rank=np.arange(6),
                                flagged=np.array([True, False, True, False, False, False]), texts=texts,
                                k=2, limit=2)
    assert list(columns.columns) == ["neighbour_ids", "neighbour_similarities", "neighbours"]
    assert columns.loc[[1, 3, 4, 5], "neighbour_ids"].tolist() == [""] * 4  # not queried
    near = json.loads(columns.at[0, "neighbour_ids"])
    assert set(near) == {2**60 + 1, 12}  # exact big ids, through JSON
    sims = json.loads(columns.at[0, "neighbour_similarities"])
    assert sims == sorted(sims, reverse=True) and all(0 < s <= 1 for s in sims)
    line = columns.at[0, "neighbours"]
    assert line.startswith("1/2 nearest labelled food: ") and f"id {2**60 + 1} (food)" in line
    assert "id 12 (tech)" in line


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="features have 2 rows; expected 3"):
        nearest_neighbours(np.ones((2, 2)), [0, 1, 0], [0])
    with pytest.raises(ValueError, match="'k' parameter must be an int >= 1. Got 0"):
        nearest_neighbours(np.ones((3, 2)), [0, 1, 0], [0], k=0)
