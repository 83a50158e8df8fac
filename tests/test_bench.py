"""Planted noise (exact count, never the same label, reproducible) and detection metrics (hand-computed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.benchmark.noise import calibration_metrics, detection_metrics, flip_labels
from auditor.benchmark.runner import BASELINE, duplicate_conflicts, run_benchmark, select_methods, stratified_subset
from auditor.benchmark.tables import summarize
from auditor.config import DataConfig
from auditor.data import from_frame
from auditor.errors import OptionError
from conftest import easy_dataset, run_cli


def _labels(n=500, k=6, seed=1):
    return np.random.default_rng(seed).integers(0, k, size=n)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(10, 300),
    k=st.integers(2, 7),
    fraction=st.floats(0.0, 0.6),
    seed=st.integers(0, 10_000),
)
def test_uniform_flips_exact_count_and_never_same_label(n, k, fraction, seed):
    labels = np.random.default_rng(seed).integers(0, k, size=n)
    noisy, flipped = flip_labels(labels, fraction, seed, n_classes=k)
    assert flipped.sum() == round(fraction * n)
    assert (noisy[flipped] != labels[flipped]).all()
    assert (noisy[~flipped] == labels[~flipped]).all()
    assert noisy.min() >= 0 and noisy.max() < k


@pytest.mark.parametrize("mode", ["uniform", "class_conditional", "one_class"])
def test_flips_are_reproducible_by_seed(mode):
    labels = _labels()
    confusion = np.random.default_rng(0).random((6, 6))
    a = flip_labels(labels, 0.1, 7, 6, mode=mode, confusion=confusion)
    b = flip_labels(labels, 0.1, 7, 6, mode=mode, confusion=confusion)
    c = flip_labels(labels, 0.1, 8, 6, mode=mode, confusion=confusion)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert a[1].sum() == 50 and (a[0][a[1]] != labels[a[1]]).all()


def test_class_conditional_follows_the_confusion_rows():
    labels = _labels(3000, 3)
    # Class 0 is only ever confused with 2, class 1 only with 0, class 2 only with 1.
    confusion = np.array([[90, 0, 10], [5, 95, 0], [0, 3, 97]])
    noisy, flipped = flip_labels(labels, 0.2, 0, 3, mode="class_conditional", confusion=confusion)
    assert flipped.sum() == 600
    moved = {(int(a), int(b)) for a, b in zip(labels[flipped], noisy[flipped])}
    assert moved == {(0, 2), (1, 0), (2, 1)}


def test_class_conditional_falls_back_to_uniform_for_a_never_confused_class():
    labels = np.array([0] * 50 + [1] * 50)
    noisy, flipped = flip_labels(labels, 0.3, 0, 2, mode="class_conditional", confusion=np.eye(2))
    assert flipped.sum() == 30 and (noisy[flipped] != labels[flipped]).all()


def test_one_class_concentrates_flips():
    labels = _labels(600, 4)
    noisy, flipped = flip_labels(labels, 0.1, 3, 4, mode="one_class", target_class=2)
    assert flipped.sum() == 60
    assert (labels[flipped] == 2).all() and (noisy[flipped] != 2).all()
    default = flip_labels(labels, 0.1, 3, 4, mode="one_class")[1]
    assert (labels[default] == np.bincount(labels).argmax()).all()


def test_one_class_too_many_flips_is_an_option_error():
    with pytest.raises(OptionError, match="has only 2 rows"):
        flip_labels(np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]), 0.3, 0, 2, mode="one_class", target_class=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(fraction=1.0), "'fraction'"),
        (dict(mode="nope"), "'mode'"),
        (dict(mode="class_conditional"), "'confusion' parameter is required"),
        (dict(mode="class_conditional", confusion=np.ones((2, 2))), "3x3"),
    ],
)
def test_bad_flip_arguments(kwargs, match):
    args = dict(fraction=0.1, seed=0, n_classes=3) | kwargs
    with pytest.raises(OptionError, match=match):
        flip_labels(np.array([0, 1, 2] * 10), **args)


def test_metrics_against_hand_computed_values():
    # 10 rows, 3 flips (rows 0, 3, 7). Ranking by score: rows 0, 1, 3, 2, 7, 4, 5, 6, 8, 9.
    truth = np.zeros(10, dtype=bool)
    truth[[0, 3, 7]] = True
    score = np.array([0.9, 0.8, 0.6, 0.7, 0.4, 0.3, 0.2, 0.5, 0.1, 0.0])
    flag = np.zeros(10, dtype=bool)
    flag[[0, 1, 3, 2]] = True
    m = detection_metrics(truth, score, flag)
    # Hits at ranks 1, 3, 5: AP = (1/1 + 2/3 + 3/5) / 3.
    assert m["average_precision"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # Top 3 = rows 0, 1, 3: two hits.
    assert m["precision_at_k"] == pytest.approx(2 / 3)
    assert m["recall_at_k"] == pytest.approx(2 / 3)
    # Top 2% and 5% of 10 rows round up to one row: row 0, a hit.
    assert m["recall_at_2pct"] == pytest.approx(1 / 3)
    assert m["recall_at_5pct"] == pytest.approx(1 / 3)
    # AUROC: of 3 x 7 (flip, clean) pairs the flip is above the clean row in all but
    # row 3 < row 1 (1 pair) and row 7 < rows 1, 2 (2 pairs): 18 / 21.
    assert m["auroc"] == pytest.approx(18 / 21)
    # Flag: 4 flagged, 2 of them planted (rows 0, 3); 2 of 3 planted found.
    assert m["flag_precision"] == pytest.approx(0.5)
    assert m["flag_recall"] == pytest.approx(2 / 3)
    assert m["flag_f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert m["flagged"] == 4


def test_metrics_perfect_and_reversed_rankings():
    truth = np.array([True, True, False, False, False])
    perfect = detection_metrics(truth, np.array([5, 4, 3, 2, 1]))
    assert perfect["average_precision"] == 1.0 and perfect["auroc"] == 1.0 and perfect["precision_at_k"] == 1.0
    worst = detection_metrics(truth, np.array([1, 2, 3, 4, 5]))
    assert worst["auroc"] == 0.0 and worst["precision_at_k"] == 0.0
    # Hits at ranks 4 and 5: AP = (1/4 + 2/5) / 2.
    assert worst["average_precision"] == pytest.approx((1 / 4 + 2 / 5) / 2)
    assert "flag_f1" not in worst


def test_metrics_ties_break_by_input_order_and_empty_flag_is_zero():
    truth = np.array([False, True, False, True])
    m = detection_metrics(truth, np.zeros(4), np.zeros(4, dtype=bool))
    # All tied: top 2 are rows 0, 1 (input order), one hit.
    assert m["precision_at_k"] == 0.5
    assert m["flag_precision"] == 0.0 and m["flag_f1"] == 0.0 and m["flagged"] == 0


def test_metrics_need_some_but_not_all_flips():
    with pytest.raises(OptionError, match="some rows but not all"):
        detection_metrics(np.zeros(4, dtype=bool), np.arange(4))


def test_calibration_against_hand_computed_values():
    labels = np.array([0, 0, 1, 1])
    # Top probabilities 0.9, 0.9 (one right, one wrong) share a bin: |1 - 1.8| = 0.8; 0.6 and 0.7 (both right):
    # |1 - 0.6| + |1 - 0.7| = 0.7; over 4 rows.
    probs = np.array([[0.9, 0.1], [0.1, 0.9], [0.4, 0.6], [0.3, 0.7]])
    got = calibration_metrics(labels, probs)
    assert got["accuracy"] == pytest.approx(0.75) and got["ece"] == pytest.approx((0.8 + 0.7) / 4)
    confident_and_right = np.eye(2)[labels]
    assert calibration_metrics(labels, confident_and_right) == {"accuracy": 1.0, "ece": 0.0}


# ---------------------------------------------------------------- the benchmark runner and CLI


def _easy_data():
    return from_frame(easy_dataset(n_per_class=40), DataConfig(source="easy"))


def test_run_benchmark_finds_planted_flips_and_reuses_its_cache(tmp_path):
    methods = select_methods(["tfidf", "baseline", "signal: loss (tfidf+nb)"])
    kwargs = dict(noise=("uniform10", "oneclass10"), seeds=(0, 1), methods=methods, folds=3, cache_dir=tmp_path)
    first = run_benchmark(_easy_data(), **kwargs)
    rows = first["rows"]
    assert len(rows) == 2 * 2 * 4 and set(rows["flips"]) == {12}
    ap = rows.groupby("method")["average_precision"].mean()
    # The texts name their class: any sensible model ranks the 12 flips of 120 rows first.
    assert ap["tfidf"] > 0.9 and ap[BASELINE] > 0.9
    assert ap["baseline: random"] < 0.4
    # The baseline ran as a process of its own: its time and peak memory are measured, not cached.
    baseline = rows[rows["method"] == BASELINE]
    assert (baseline["seconds"] > 0).all() and (baseline["peak_rss_mb"] > 50).all()
    assert rows.loc[rows["method"] == "tfidf", "peak_rss_mb"].isna().all()
    # tfidf and nb (for the signal's tfidf+nb probabilities), per noise setting and seed.
    assert len(list(tmp_path.rglob("*.npz"))) == 2 * 2 * 2
    again = run_benchmark(_easy_data(), **kwargs)["rows"]
    measured = ["seconds", "peak_rss_mb"]
    pd.testing.assert_frame_equal(rows.drop(columns=measured), again.drop(columns=measured))
    summary = summarize(rows)
    assert list(summary["noise"].unique()) == ["uniform10", "oneclass10"]
    assert (summary["seeds"] == 2).all()


def test_duplicate_conflicts_normalise_case_punctuation_and_spacing():
    texts = ["I feel  fine!", "i feel fine", "other", "other", "alone"]
    labels = np.array([0, 1, 2, 2, 0])
    assert duplicate_conflicts(texts, labels).tolist() == [True, True, False, False, False]


def test_stratified_subset_keeps_class_shares():
    data = _easy_data()
    sub = stratified_subset(data, 60)
    assert len(sub) == 60 and np.bincount(sub.labels).tolist() == [20, 20, 20]
    assert stratified_subset(data, None) is data


def test_select_methods_rejects_unknown_and_keeps_finetune_opt_in():
    assert all("finetune" not in m.probs for m in select_methods(["all"]))
    assert any("finetune" in m.probs for m in select_methods(["all"], finetune=True))
    with pytest.raises(OptionError, match="'methods' parameter"):
        select_methods(["nope"])


def test_bench_cli_writes_its_tables(tmp_path):
    path = tmp_path / "easy.csv"
    easy_dataset(n_per_class=30).to_csv(path, index=False)
    out = tmp_path / "bench"
    proc = run_cli("bench", "--data", path, "--methods", "tfidf", "baseline", "--folds", "3", "--noise", "uniform10",
                   "--seeds", "0", "1", "--cache-dir", tmp_path / "cache", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "## uniform10" in proc.stdout and "baseline: random" in proc.stdout
    for name in ("results.csv", "summary.csv", "summary.md", "suspects.csv", "bench.json"):
        assert (out / name).exists()
    assert len(pd.read_csv(out / "results.csv")) == 2 * 3


def test_bench_cli_runs_the_default_audit_beside_the_baseline_on_compressed_data(tmp_path):
    path = tmp_path / "easy.jsonl.gz"
    easy_dataset(n_per_class=30).to_json(path, orient="records", lines=True)
    out = tmp_path / "bench"
    proc = run_cli("bench", "--data", path, "--methods", "auto", BASELINE, "--folds", "3", "--noise", "classcond10",
                   "--seeds", "0", "--cache-dir", tmp_path / "cache", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    rows = pd.read_csv(out / "results.csv")
    assert len(rows) == 2 and rows["method"].iloc[0].startswith("auditor run (auto: ")
    assert (rows["peak_rss_mb"] > 50).all() and (rows["average_precision"] > 0.8).all()
    # Both processes' probabilities are read back: accuracy against the clean labels, and calibration.
    assert (rows["accuracy"] > 0.8).all() and rows["ece"].between(0, 1).all()
    assert "peak RSS" in proc.stdout and "ECE" in proc.stdout


@pytest.mark.parametrize("args, option", [(["--noise", "loud"], "noise"), (["--truncation", "middle"], "truncation")])
def test_bench_cli_bad_option_is_one_line(tmp_path, args, option):
    out = tmp_path / "bench"
    proc = run_cli("bench", *args, "--limit", "100", "--out", out)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(f"auditor: error: The '{option}' option") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()
