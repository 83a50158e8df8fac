"""The extra signals: duplicates, outliers, training dynamics, their combination, --signals, rare classes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from auditor.config import DataConfig, RunConfig, TrainConfig, parse_signals
from auditor.data import from_frame, load_data
from auditor.errors import OptionError
from auditor.pipeline import audit_data, build_scores, resolve_signals
from auditor.scoring.combine import combined_score, signal_scores
from auditor.scoring.duplicates import normalize_text, score_duplicates
from auditor.scoring.dynamics import aggregate_dynamics, score_dynamics
from auditor.scoring.outliers import score_outliers

from conftest import EMOTION_TRAIN, run_cli

NAMES = ["joy", "sadness", "anger"]


# --- duplicates -------------------------------------------------------------------------------


def test_normalize_text_ignores_case_punctuation_and_spacing():
    assert normalize_text("  I'm   FINE!! ") == normalize_text("im fine") == "im fine"
    assert normalize_text("im fine") != normalize_text("im not fine")


def _dup_data():
    texts = [
        "I am so happy today!",       # 0 ┐ same text, same label
        "i am so happy today",        # 1 ┘
        "this makes me furious",      # 2 ┐ planted conflict: anger vs joy
        "This makes me FURIOUS.",     # 3 ┘
        "the weather is grey",        # 4   unique
        "my cat sleeps all day long",  # 5   unique
    ]
    labels = np.array([0, 0, 2, 0, 1, 0])
    probs = np.full((6, 3), 1 / 3)
    probs[2] = [0.1, 0.1, 0.8]  # the model believes anger...
    probs[3] = [0.2, 0.1, 0.7]  # ... for both copies, so the joy copy (row 3) is the suspect one
    return texts, labels, probs


def test_duplicates_find_planted_conflict_and_rank_the_less_trusted_copy_higher():
    texts, labels, probs = _dup_data()
    ids = np.array([10, 11, 12, 13, 14, 15])
    out = score_duplicates(labels, probs, texts=texts, ids=ids, class_names=NAMES, duplicate_threshold=None)
    group = out["duplicate_group"].tolist()
    assert group == [0, 0, 1, 1, -1, -1]
    assert out["is_conflicting_duplicate_issue"].tolist() == [False, False, True, True, False, False]
    score = out["conflicting_duplicate_score"].to_numpy()
    # Mean probabilities of the pair: anger 0.75, joy 0.15.
    assert score[2] == pytest.approx(0.25) and score[3] == pytest.approx(0.85)
    assert score[[0, 1, 4, 5]].tolist() == [0, 0, 0, 0]
    assert out["duplicate_reason"][3] == "same text labelled anger at id 12"
    assert out["duplicate_reason"][2] == "same text labelled joy at id 13"
    assert out["duplicate_reason"][0] == ""


def test_near_duplicates_depend_on_threshold_and_use_embeddings_when_given():
    texts = ["the food was cold and late", "the food was cold and very late", "a quiet walk by the sea"]
    labels = np.array([0, 1, 1])
    probs = np.full((3, 3), 1 / 3)
    strict = score_duplicates(labels, probs, texts=texts, class_names=NAMES, duplicate_threshold=None)
    loose = score_duplicates(labels, probs, texts=texts, class_names=NAMES, duplicate_threshold=0.6)
    assert not strict["is_conflicting_duplicate_issue"].any()
    assert loose["is_conflicting_duplicate_issue"].tolist() == [True, True, False]
    assert loose["duplicate_reason"][0].startswith("near-duplicate (cosine 0.")
    # Embeddings override the text vectors: here rows 0 and 2 point the same way, row 1 elsewhere.
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.99, 0.05]])
    by_emb = score_duplicates(labels, probs, texts=texts, embeddings=emb, class_names=NAMES, duplicate_threshold=0.95)
    assert by_emb["duplicate_group"].tolist() == [0, -1, 0]
    assert by_emb["is_conflicting_duplicate_issue"].tolist() == [True, False, True]


def test_pruned_sparse_pair_search_equals_brute_force(emotion_slice):
    from sklearn.neighbors import NearestNeighbors

    from auditor.scoring.duplicates import _exact_units, _sparse_pairs, _unit_vectors

    texts = load_data(DataConfig(source=str(emotion_slice))).texts
    _, first = _exact_units(texts)
    vectors = _unit_vectors(texts, first, None).tocsr()
    for threshold in (0.9, 0.3, 0.15):
        a, b, sim = _sparse_pairs(vectors, threshold, block=64)
        _, neighbours = NearestNeighbors(radius=1 - threshold, metric="cosine", algorithm="brute").fit(
            vectors).radius_neighbors(vectors)
        expected = {(i, j) for i, row in enumerate(neighbours) for j in row if i < j}
        assert set(zip(a.tolist(), b.tolist())) == expected and len(a) == len(expected)
        assert (sim >= threshold).all()
    assert len(expected) > 100  # the low threshold really exercised the pruning


def test_punctuation_only_texts_are_not_duplicates_of_each_other():
    out = score_duplicates(np.array([0, 1]), np.full((2, 2), 0.5), texts=["!!", "??"], duplicate_threshold=None)
    assert out["duplicate_group"].tolist() == [-1, -1]


def test_all_30_conflicting_duplicates_of_the_emotion_training_split_are_found():
    data = load_data(DataConfig(source=str(EMOTION_TRAIN)))
    probs = np.full((len(data), len(data.class_names)), 1 / len(data.class_names))
    out = score_duplicates(data.labels, probs, texts=data.texts, ids=data.ids, class_names=data.class_names)
    flagged = out[out["is_conflicting_duplicate_issue"]]
    assert len(flagged) == 60
    pairs = flagged.groupby("duplicate_group")
    assert pairs.ngroups == 30 and (pairs.size() == 2).all()
    for _, pair in pairs:
        a, b = pair.index
        assert normalize_text(data.texts[a]) == normalize_text(data.texts[b])
        assert data.labels[a] != data.labels[b]
        assert f"at id {data.ids[b]}" in out["duplicate_reason"][a]


# --- outliers ---------------------------------------------------------------------------------


def test_outlier_score_is_highest_for_the_point_far_from_everything():
    rng = np.random.default_rng(0)
    cluster = np.array([1.0, 0.0, 0.0]) + rng.normal(0, 0.05, (99, 3))
    features = np.vstack([cluster, [[0.0, 0.0, 1.0]]])
    out = score_outliers(np.zeros(100, dtype=int), None, embeddings=features, outlier_share=0.01)
    assert out["outlier_score"].idxmax() == 99
    assert out["is_outlier_issue"].tolist() == [False] * 99 + [True]


def test_outliers_from_texts_without_embeddings_and_tiny_inputs():
    texts = ["i feel happy"] * 10 + ["i feel happy today"] * 10 + ["quantum chromodynamics lecture notes"]
    out = score_outliers(np.zeros(21, dtype=int), None, texts=texts, outlier_share=0.05)
    assert out["outlier_score"].idxmax() == 20 and out["is_outlier_issue"].sum() == 1
    assert len(score_outliers(np.zeros(2, dtype=int), None, texts=["a b", "c d"])) == 2


# --- training dynamics (scorer on hand-made records) --------------------------------------------


def _records():
    # Row 0 learned early and kept; row 1 never learned; row 2 flips back and forth; row 3 never trained on.
    return pd.DataFrame(
        {
            "row": [0] * 4 + [1] * 4 + [2] * 4,
            "fold": [0, 0, 1, 1] * 3,
            "epoch": [1.0, 2.0] * 6,
            "p_given": [0.9, 0.95, 0.9, 1.0, 0.1, 0.2, 0.1, 0.1, 0.1, 0.9, 0.2, 0.8],
            "margin": [2, 3, 2, 4, -3, -2, -3, -2, -2, 2, -1, 1],
            "correct": [True] * 4 + [False] * 4 + [False, True, False, True],
        }
    )


def test_dynamics_aggregate_pools_folds_but_measures_variability_within_a_run():
    agg = aggregate_dynamics(_records(), 4)
    assert agg["confidence"].iloc[:3].tolist() == pytest.approx([0.9375, 0.125, 0.5])
    # Row 0: stds 0.025 (fold 0) and 0.05 (fold 1) → 0.0375, not the pooled std.
    assert agg["variability"].iloc[:3].tolist() == pytest.approx([0.0375, 0.025, 0.35])
    assert agg["aum"].iloc[:3].tolist() == pytest.approx([2.75, -2.5, 0.0])
    assert agg["checkpoints"].tolist() == [4, 4, 4, 0] and agg["runs"].tolist() == [2, 2, 2, 0]
    assert agg.iloc[3, :4].isna().all()


def test_dynamics_scorer_regions_flags_and_reasons():
    out = score_dynamics(np.array([0, 1, 0, 1]), np.full((4, 3), 1 / 3), dynamics=_records(), class_names=NAMES)
    assert out["cartography_region"].tolist() == ["easy", "hard-to-learn", "ambiguous", ""]
    assert out["is_hard_to_learn_issue"].tolist() == [False, True, False, False]
    assert out["correctness_score"].iloc[:3].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert out["dynamics_reason"][1] == "hard to learn: never predicted as sadness in 4 checkpoints over 2 training runs"
    assert out["dynamics_reason"][0] == ""


# --- combination and reasons ------------------------------------------------------------------


def _table(**extra):
    base = {"label_quality_score": [0.9, 0.2, 0.6], "loss_score": [0.1, 1.6, 0.5]}
    return pd.DataFrame({**base, **extra})


ALL_PARTS = ("label_quality", "dynamics_confidence", "conflicting_duplicate")


def test_combined_score_is_label_quality_alone_without_other_signals():
    assert combined_score(_table(), ALL_PARTS) == pytest.approx([0.1, 0.8, 0.4])


def test_conflicting_duplicate_raises_the_score_as_a_noisy_or_and_outliers_do_not_count():
    table = _table(conflicting_duplicate_score=[0.0, 0.0, 0.5], outlier_score=[0.9, 0.0, 0.0])
    assert combined_score(table, ALL_PARTS) == pytest.approx([0.1, 0.8, 1 - 0.6 * 0.5])
    assert combined_score(table, ("label_quality",)) == pytest.approx([0.1, 0.8, 0.4])
    assert set(signal_scores(table)) == {"label_quality", "loss", "conflicting_duplicate", "outlier"}


def test_dynamics_confidence_is_averaged_in_where_recorded():
    table = _table(confidence_score=[0.7, np.nan, 0.0], aum_score=[1.0, np.nan, -2.0])
    assert combined_score(table, ALL_PARTS) == pytest.approx([0.2, 0.8, 0.7])
    assert signal_scores(table)["aum"][2] == 2.0


def test_reasons_name_every_signal_that_fires():
    texts, labels, probs = _dup_data()
    probs[1] = [0.03, 0.9, 0.07]
    frame = pd.DataFrame({"text": texts, "label": [NAMES[i] for i in labels]})
    data = from_frame(frame, DataConfig(source="t.csv"), fmt="csv")
    assert list(data.class_names) == ["anger", "joy", "sadness"]  # sorted, so reorder the columns to match
    scores = build_scores(data, probs[:, [2, 0, 1]], signals=("loss", "label_quality", "duplicates"))
    assert scores.loc[3, "is_label_issue"] and scores.loc[2, "is_label_issue"]
    assert scores.loc[3, "reasons"] == "model gives anger 0.70, labelled joy (0.20); same text labelled anger at id 2"
    assert scores.loc[2, "reasons"] == "same text labelled joy at id 3"
    assert scores.loc[1, "reasons"] == "model gives sadness 0.90, labelled joy (0.03)"
    # The default ranking (RANKING) is label quality alone; the conflict sets the flag on both copies.
    assert scores["label_issue_score"].to_numpy() == pytest.approx(1 - probs[np.arange(6), labels])
    assert scores.loc[3, "rank"] < scores.loc[2, "rank"]


# --- choosing signals -------------------------------------------------------------------------


def test_parse_signals():
    assert parse_signals(None) is None
    assert parse_signals("outliers") == ("loss", "label_quality", "outliers")
    assert parse_signals("none") == ("loss", "label_quality")
    assert "dynamics" in parse_signals("all")
    with pytest.raises(OptionError, match="The 'signals' parameter must be"):
        parse_signals("duplicates,bogus")


def test_dynamics_need_kfold_finetuning():
    with pytest.raises(OptionError, match="needs k-fold fine-tuning"):
        resolve_signals(RunConfig(signals="dynamics"), ("tfidf",))
    assert "dynamics" not in resolve_signals(RunConfig(signals="all"), ("tfidf",))
    assert "dynamics" in resolve_signals(RunConfig(signals="all"), ("finetune", "tfidf"))


def test_signals_on_the_cli(easy_csv, tmp_path):
    path, _ = easy_csv
    out = tmp_path / "run"
    done = run_cli("run", "--data", path, "--method", "tfidf", "--folds", 3, "--signals", "duplicates,outliers",
                   "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    scores = pd.read_csv(out / "scores.csv")
    for column in ("duplicate_group", "is_conflicting_duplicate_issue", "conflicting_duplicate_score",
                   "outlier_score", "is_outlier_issue", "label_issue_score", "reasons"):
        assert column in scores
    assert "confidence_score" not in scores
    assert json.loads((out / "metrics.json").read_text())["signals"] == ["loss", "label_quality", "duplicates",
                                                                         "outliers"]
    bad = run_cli("run", "--data", path, "--method", "tfidf", "--signals", "dynamics", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and "needs k-fold fine-tuning" in bad.stderr
    assert not (tmp_path / "bad").exists()


# --- rare classes -----------------------------------------------------------------------------


def test_classes_with_one_or_two_examples_are_scored_not_crashed_on(tmp_path):
    rng = np.random.default_rng(0)
    labels = ["a"] * 20 + ["b"] * 17 + ["c"] * 2 + ["d"]
    texts = [f"note {i} about {w}" for i, w in enumerate(rng.choice(["cats", "dogs", "fish"], len(labels)))]
    texts[38] = texts[39] = "the very same text"  # the rare classes also conflict as duplicates
    path = tmp_path / "rare.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    probs = rng.dirichlet(np.ones(4), len(labels))
    np.save(tmp_path / "p.npy", probs)
    out = tmp_path / "run"
    done = run_cli("run", "--data", path, "--pred-probs", tmp_path / "p.npy", "--signals", "all", "--out", out,
                   "--quiet")
    assert done.returncode == 0, done.stderr
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    assert len(scores) == 40 and sorted(scores["rank"]) == list(range(1, 41))
    assert scores["is_conflicting_duplicate_issue"].iloc[38:].tolist() == [True, True]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["per_class"]["d"]["support"] == 1

    # --train-data: train once on other rows (every class seen once there) and audit these.
    data = load_data(DataConfig(source=str(path)))
    train = from_frame(pd.DataFrame({"text": ["cats", "dogs", "fish", "birds"], "label": ["a", "b", "c", "d"]}),
                       DataConfig(source="train.csv"), fmt="csv")
    result = audit_data(data, RunConfig(method="tfidf", signals="all", quiet=True), train=train)
    assert len(result.scores) == 40 and result.scores["label_issue_score"].notna().all()


# --- training dynamics recorded in a real fine-tune --------------------------------------------


@pytest.mark.slow
@pytest.mark.ci_slow  # a real fine-tune: CI's second tier, keeps the default run short
def test_dynamics_recorded_for_every_training_row_in_a_tiny_finetune(emotion_slice):
    import torch

    from auditor.backends import fold_assignment, make_backend

    data = load_data(DataConfig(source=str(emotion_slice)))
    rows = np.arange(60)
    texts, labels = [data.texts[i] for i in rows], data.labels[rows]
    cfg = TrainConfig(epochs=2, batch_size=16, dynamics_per_epoch=2)
    backend = make_backend("finetune", len(data.class_names), cfg, seed=0)
    backend.prepare(texts)
    assignment = fold_assignment(labels, 2, 0)
    for fold in range(2):
        backend.fit_predict(np.flatnonzero(assignment != fold), labels, np.flatnonzero(assignment == fold))
    records = backend.dynamics.table()
    # Each row is trained on in exactly one of 2 folds (2 steps per epoch), measured twice per epoch.
    assert len(records) == 60 * 4
    assert sorted(records["row"].unique()) == list(range(60))
    for fold in range(2):
        mine = records[records["fold"] == fold]
        assert set(mine["row"]) == set(np.flatnonzero(assignment != fold))
        assert sorted(mine["epoch"].unique()) == [0.5, 1.0, 1.5, 2.0]
        assert (mine.groupby("epoch")["row"].nunique() == 30).all()
    assert np.isfinite(records[["p_given", "margin"]].to_numpy()).all()
    assert ((records["margin"] > 0) == records["correct"]).all()

    # The last record of the last fold belongs to the final model: recompute a few rows independently.
    model = backend.last_model.eval()
    last = records[(records["fold"] == 1) & (records["epoch"] == 2.0)].set_index("row")
    check = last.index[::-5][:6]
    with torch.no_grad():
        for r in check:
            enc = backend.tokenizer(texts[r], return_tensors="pt", truncation=True, max_length=cfg.max_length)
            p = torch.softmax(model(**enc).logits.float(), -1)[0, labels[r]].item()
            assert p == pytest.approx(last.loc[r, "p_given"], abs=1e-4)

    scores = score_dynamics(labels, np.full((60, 6), 1 / 6), dynamics=records, class_names=data.class_names)
    assert scores[["confidence_score", "variability_score", "aum_score"]].notna().all().all()
    assert set(scores["cartography_region"]) <= {"easy", "ambiguous", "hard-to-learn"}


def test_plot_cartography_returns_its_axes():
    import matplotlib

    matplotlib.use("Agg")
    from auditor.plots import plot_cartography
    from auditor.scoring.dynamics import SIGNAL

    ax = plot_cartography([0.9, 0.1, np.nan], [0.05, 0.02, np.nan], [1.0, 0.0, np.nan], ambiguous=0.2, hard=0.5)
    assert SIGNAL.section.plot is not None
    assert ax.get_xlabel() == "variability" and len(ax.collections[0].get_offsets()) == 2


@pytest.mark.slow
@pytest.mark.ci_slow
def test_dynamics_signal_end_to_end_on_the_cli(tmp_path):
    path = tmp_path / "e60.txt"
    path.write_text("\n".join(EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:60]) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    done = run_cli("run", "--data", path, "--method", "finetune", "--folds", 2, "--epochs", 1, "--batch-size", 16,
                   "--signals", "dynamics", "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    assert np.isfinite(scores[["confidence_score", "variability_score", "aum_score"]].to_numpy(dtype=float)).all()
    assert set(scores["cartography_region"]) <= {"easy", "ambiguous", "hard-to-learn"}
    assert json.loads((out / "run.json").read_text())["config"]["train"]["dynamics_per_epoch"] == 1


def test_default_ranking_averages_in_dynamics_where_recorded():
    """RANKING (measured in BENCHMARKS.md): label quality, averaged with dynamics confidence when recorded."""
    from auditor.scoring.combine import RANKING, combine

    labels = np.array([0, 1, 2])
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.3, 0.1, 0.6]])
    table = _table(confidence_score=[0.1, np.nan, 0.9], aum_score=[0.0, np.nan, 1.0])
    table["loss_score"] = -np.log(probs[np.arange(3), labels])
    table["is_label_quality_issue"] = [False, True, False]
    out = combine(table, labels, probs, NAMES)
    assert RANKING == ("label_quality", "dynamics_confidence")
    assert out["label_issue_score"].to_numpy() == pytest.approx([(0.1 + 0.9) / 2, 0.8, (0.4 + 0.1) / 2])
    assert list(out.sort_values("rank").index) == [1, 0, 2]
    # Without dynamics columns the default is label quality alone.
    plain = combine(_table().assign(is_label_quality_issue=False), labels, probs, NAMES)
    assert plain["label_issue_score"].to_numpy() == pytest.approx([0.1, 0.8, 0.4])
