"""Every backend end to end on small real data: planted flips found, invariants hold, rows stay aligned."""

import numpy as np
import pandas as pd
import pytest

from auditor.backends import fold_assignment
from auditor.config import DataConfig, RunConfig, TrainConfig
from auditor.data import from_frame
from auditor.pipeline import audit_data
from conftest import easy_dataset, plant_flips, run_cli


def _audit(frame, **config):
    data = from_frame(frame, DataConfig(source="frame"))
    cfg = RunConfig(quiet=True, **config)
    return data, audit_data(data, cfg)


def _check_invariants(result, n):
    scores = result.scores
    assert len(scores) == n and scores["id"].is_unique
    assert sorted(scores["id"].tolist()) == list(range(n))
    probs = result.pred_probs
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert ((probs >= 0) & (probs <= 1)).all()
    assert sorted(scores["rank"].tolist()) == list(range(1, n + 1))
    assert np.isfinite(scores["loss_score"]).all()


@pytest.mark.parametrize("method", ["tfidf", "embeddings", "tfidf+embeddings"])
def test_planted_flips_rank_at_the_top(method):
    noisy, flipped = plant_flips(easy_dataset(), 9, seed=1)
    data, result = _audit(noisy, method=method, folds=3)
    _check_invariants(result, len(noisy))
    top = set(result.scores.nsmallest(12, "rank")["id"])
    assert len(top & set(flipped)) >= 8, (method, sorted(top), flipped)
    flagged = set(result.scores.loc[result.scores["is_label_issue"], "id"])
    assert len(flagged & set(flipped)) >= 8
    # The suggested label of a flipped row is (almost always) its original label.
    clean = easy_dataset()
    rows = result.scores.set_index("id").loc[flipped]
    assert (rows["suggested_label"].to_numpy() == clean.loc[flipped, "label"].to_numpy()).mean() >= 0.8


def test_scores_keep_input_ids_and_order():
    frame = easy_dataset(20)
    frame["uid"] = [f"row-{i}" for i in range(len(frame))]
    data = from_frame(frame, DataConfig(source="frame", id_column="uid"))
    result = audit_data(data, RunConfig(method="tfidf", folds=3, quiet=True))
    assert result.scores["id"].tolist() == frame["uid"].tolist()
    assert result.scores["text"].tolist() == frame["text"].tolist()


def test_embeddings_backend_is_deterministic():
    frame = easy_dataset(15)
    _, a = _audit(frame, method="embeddings", folds=3, seed=7)
    _, b = _audit(frame, method="embeddings", folds=3, seed=7)
    pd.testing.assert_frame_equal(a.scores, b.scores)


def test_fold_assignment_is_stratified_and_seeded():
    labels = np.repeat([0, 1, 2], 30)
    a, b = fold_assignment(labels, 5, 3), fold_assignment(labels, 5, 3)
    assert (a == b).all()
    assert not (a == fold_assignment(labels, 5, 4)).all()
    for fold in range(5):
        assert np.bincount(labels[a == fold]).tolist() == [6, 6, 6]


def test_precomputed_probabilities(tmp_path):
    frame = easy_dataset(10)
    data = from_frame(frame, DataConfig(source="frame"))
    probs = np.full((len(frame), 3), 0.1)
    probs[np.arange(len(frame)), data.labels] = 0.8
    probs[0] = [0.05, 0.05, 0.05]
    probs[0, (data.labels[0] + 1) % 3] = 0.9  # row 0 looks mislabelled
    path = tmp_path / "p.npy"
    np.save(path, probs)
    result = audit_data(data, RunConfig(pred_probs=str(path), quiet=True))
    assert result.scores.loc[result.scores["rank"] == 1, "id"].item() == 0
    assert np.allclose(result.pred_probs, probs)


def test_train_data_scores_another_split(tmp_path):
    train, test = easy_dataset(40, seed=0), easy_dataset(10, seed=1)
    train_path, test_path = tmp_path / "train.csv", tmp_path / "test.csv"
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    out = tmp_path / "run"
    proc = run_cli("run", "--data", test_path, "--train-data", train_path, "--method", "tfidf", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 30 and (scores["predicted_label"] == scores["given_label"]).mean() > 0.9


@pytest.mark.slow
def test_default_run_on_the_shipped_emotion_split(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("run", "--out", out, timeout=900)
    assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 16000 and scores["id"].tolist() == list(range(16000))
