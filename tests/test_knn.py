"""The knn signal: planted flips on easy data disagree with their neighbours, and the one module is all
it took to reach --signals, the scores table, the reasons, the report and the benchmark."""

from __future__ import annotations

import numpy as np

from auditor import audit
from auditor.benchmark.runner import SIGNALS as BENCHMARK_RANKINGS
from auditor.config import SIGNALS, parse_signals
from auditor.scoring.knn import score_knn
from auditor.scoring.registry import sections
from conftest import easy_dataset, plant_flips


def test_planted_flips_disagree_with_their_neighbours():
    noisy, flipped = plant_flips(easy_dataset(30), 6, seed=3)
    classes = sorted(noisy["label"].unique())
    labels = noisy["label"].map(classes.index).to_numpy()
    table = score_knn(labels, None, texts=noisy["text"].tolist(), class_names=classes, k=10)
    top = np.argsort(-table["knn_score"].to_numpy(), kind="stable")[:6]
    assert set(top) == set(flipped)
    assert table.loc[flipped, "is_knn_issue"].all() and table["is_knn_issue"].sum() < 12
    assert "nearest texts are labelled otherwise (most: " in table.at[flipped[0], "knn_reason"]


def test_declared_once_reaches_every_consumer():
    assert "knn" in SIGNALS and parse_signals("knn") == ("loss", "label_quality", "knn")
    assert "knn_disagreement" in BENCHMARK_RANKINGS and any(s.column == "knn_score" for s in sections())
    noisy, flipped = plant_flips(easy_dataset(20), 4, seed=1)
    result = audit(noisy, method="tfidf", folds=3, signals="knn", verbose=False)
    assert {"knn_score", "is_knn_issue", "knn_reason"} <= set(result.scores.columns)
    assert "duplicate_group" not in result.scores  # only the signals asked for ran
    assert any("nearest texts" in r for r in result.scores.loc[flipped, "reasons"])
