"""A fixed --seed repeats a run exactly on CPU, and run.json holds everything needed to repeat it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from auditor import load_run
from auditor.backends import fold_assignment
from auditor.config import DataConfig, RunConfig
from auditor.data import from_frame
from auditor.pipeline import audit_data, run
from conftest import easy_dataset, plant_flips, run_cli


@pytest.fixture(scope="module")
def easy_data():
    noisy, _ = plant_flips(easy_dataset(20), 4)
    return from_frame(noisy, DataConfig(source="easy"))


@pytest.mark.parametrize("method", ["tfidf", "embeddings"])
def test_fixed_seed_gives_identical_scores(easy_data, method):
    config = RunConfig(method=method, folds=3, seed=5, quiet=True)
    first, second = audit_data(easy_data, config), audit_data(easy_data, config)
    pd.testing.assert_frame_equal(first.scores, second.scores, check_exact=True)
    if method == "embeddings":
        np.testing.assert_array_equal(first.embeddings, second.embeddings)


def test_fold_assignment_depends_on_the_seed_only(easy_data):
    expected = fold_assignment(easy_data.labels, 3, 5)
    for method in ("tfidf", "embeddings"):
        scores = audit_data(easy_data, RunConfig(method=method, folds=3, seed=5, quiet=True)).scores
        np.testing.assert_array_equal(scores["fold"].to_numpy(), expected)
    other = fold_assignment(easy_data.labels, 3, 6)
    assert not np.array_equal(expected, other)
    np.testing.assert_array_equal(np.bincount(expected), [20, 20, 20])  # stratified: equal folds here


def test_run_json_repeats_the_run(tmp_path):
    data = tmp_path / "easy.csv"
    plant_flips(easy_dataset(20), 4)[0].to_csv(data, index=False)
    out = tmp_path / "first"
    proc = run_cli("run", "--data", data, "--out", out, "--method", "tfidf", "--folds", "3", "--seed", "11", "--quiet")
    assert proc.returncode == 0, proc.stderr
    recorded = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert recorded["data"]["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert recorded["data"]["path"] == str(data.resolve())
    assert len(recorded["fingerprint"]) == 64
    for package in ("scikit-learn", "numpy", "cleanlab", "torch"):
        assert recorded["versions"][package]
    config = RunConfig.from_dict(recorded["config"]).replace(out=str(tmp_path / "again"))
    repeated, _ = run(config)
    pd.testing.assert_frame_equal(repeated.scores, load_run(out).scores, check_exact=True)
    assert repeated.run["fingerprint"] == recorded["fingerprint"]
