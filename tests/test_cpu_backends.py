"""The CPU backends `hybrid` (TF-IDF + sentence-embedding features, one LR) and `nb` on small real data."""

from __future__ import annotations

import numpy as np
import pytest

from auditor import backends
from auditor.benchmark.noise import detection_metrics, flip_labels
from auditor.config import TrainConfig
from auditor.device import device
from conftest import EMOTION_TRAIN, easy_dataset


def test_hybrid_ranks_planted_flips_first_and_keeps_its_embeddings():
    frame = easy_dataset(n_per_class=30)
    labels = frame["label"].astype("category").cat.codes.to_numpy().astype(np.int64)
    noisy, flipped = flip_labels(labels, 0.1, 0, 3)
    out = backends.out_of_sample(frame["text"].tolist(), noisy, 3, ("hybrid",), 3, 0, TrainConfig())
    assert np.allclose(out.pred_probs.sum(axis=1), 1.0)
    assert out.embeddings is not None and out.embeddings.shape == (90, 384)
    score = 1 - out.pred_probs[np.arange(90), noisy]
    assert detection_metrics(flipped, score)["average_precision"] > 0.9
    assert out.details["hybrid"]["features"] > 384


def test_nb_ranks_planted_flips_first():
    frame = easy_dataset(n_per_class=30)
    labels = frame["label"].astype("category").cat.codes.to_numpy().astype(np.int64)
    noisy, flipped = flip_labels(labels, 0.1, 1, 3)
    out = backends.out_of_sample(frame["text"].tolist(), noisy, 3, ("tfidf", "nb"), 3, 0, TrainConfig())
    assert np.allclose(out.pred_probs.sum(axis=1), 1.0)
    assert out.details["nb"]["alpha"] == 0.3
    score = 1 - out.pred_probs[np.arange(90), noisy]
    assert detection_metrics(flipped, score)["average_precision"] > 0.9


def test_auto_on_cpu_is_the_benchmarked_default():
    if device() == "cuda":
        pytest.skip("checks the CPU default; this machine has a CUDA GPU")
    assert backends.resolve_method(("auto",)) == ("tfidf", "nb")


@pytest.mark.slow
def test_hybrid_beats_random_on_emotion_tweets():
    lines = EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:400]
    texts = [line.rsplit(";", 1)[0] for line in lines]
    names = sorted({line.rsplit(";", 1)[1] for line in lines})
    labels = np.array([names.index(line.rsplit(";", 1)[1]) for line in lines])
    noisy, flipped = flip_labels(labels, 0.1, 0, len(names))
    out = backends.out_of_sample(texts, noisy, len(names), ("hybrid",), 3, 0, TrainConfig())
    score = 1 - out.pred_probs[np.arange(len(texts)), noisy]
    # 400 short tweets are little to learn from; random ranking gives AP ≈ 0.10.
    assert detection_metrics(flipped, score)["average_precision"] > 0.2
