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
    assert evidence_rows(rank, flagged, 2, budget_cells=0).tolist() == [0, 3]  # ranks 5 and 2, flagged
    assert evidence_rows(rank, flagged, 4, budget_cells=0).tolist() == [0, 1, 3, 5]  # then rank 1 unflagged
    assert evidence_rows(rank, flagged, 100, budget_cells=0).tolist() == list(range(6))


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


def test_evidence_rows_take_every_flagged_row_within_the_cell_budget():
    rank = np.array([5, 1, 4, 2, 3, 6])
    flagged = np.array([True, False, False, True, False, True])
    assert evidence_rows(rank, flagged, 1, budget_cells=12).tolist() == [0, 3]  # 12 cells / 6 rows = 2 queries
    assert evidence_rows(rank, flagged, 1).tolist() == [0, 3, 5]  # every flagged row, no unflagged one
    assert evidence_rows(rank, flagged, 4, budget_cells=12).tolist() == [0, 1, 3, 5]  # never fewer than limit


def test_fill_neighbours_computes_only_missing_rows_and_names_other_features():
    import pandas as pd

    from auditor.scoring.neighbours import fill_neighbours

    texts = ["cheap pizza oven", "pizza oven bread", "oven pizza dinner", "python laptop code",
             "laptop python server", "goal match team"]
    labels = np.array([0, 0, 1, 1, 1, 2])
    names = ["food", "tech", "sport"]
    full = neighbour_columns(np.arange(6), labels, names, rank=np.arange(6), flagged=np.ones(6, bool),
                             texts=texts, k=2)
    scores = pd.DataFrame({"id": np.arange(6), "text": texts, "given_label": [names[i] for i in labels]},
                          index=np.arange(10, 16))
    scores = pd.concat([scores, full.set_axis(scores.index)], axis=1)
    scores.iloc[[1, 4], scores.columns.get_loc("neighbour_ids")] = ""
    scores.iloc[4, scores.columns.get_loc("neighbours")] = "kept: a row not asked for"
    filled = fill_neighbours(scores, [0, 1], names, k=2, features_note="TF-IDF")
    assert filled.index.equals(scores.index)
    assert filled["neighbour_ids"].iat[1] == full["neighbour_ids"].iat[1]
    assert filled["neighbours"].iat[1] == "TF-IDF: " + full["neighbours"].iat[1]  # other features: said
    assert filled["neighbours"].iat[0] == full["neighbours"].iat[0]  # had them: untouched
    assert filled["neighbour_ids"].iat[4] == "" and filled["neighbours"].iat[4] == "kept: a row not asked for"
    assert fill_neighbours(filled, [0, 1], names) is filled  # nothing missing: nothing computed


def test_every_row_written_for_annotators_carries_its_neighbours_past_the_run_budget(tmp_path, monkeypatch):
    """A real run whose neighbour budget (lowered here) covers 3 of its flagged rows: export (CSV, --top,
    Label Studio, Argilla) and report compute the others on demand, exactly as a run within budget does."""
    import pandas as pd
    from conftest import run_cli
    from report_helpers import build_run

    import auditor.scoring.neighbours as neighbours

    noisy, _ = plant_flips(easy_dataset(), 30)
    data = tmp_path / "noisy.csv"
    noisy.to_csv(data, index=False)
    full = pd.read_csv(build_run(data, tmp_path / "full") / "scores.csv", keep_default_na=False)
    monkeypatch.setattr(neighbours, "EVIDENCE_ROWS", 3)
    monkeypatch.setattr(neighbours, "EVIDENCE_CELLS", 0)
    run_dir = build_run(data, tmp_path / "small")
    scores = pd.read_csv(run_dir / "scores.csv", keep_default_na=False)
    flagged = scores["is_label_issue"].astype(str).eq("True")
    assert flagged.sum() > 10 and scores["neighbour_ids"].ne("").sum() == 3  # the budget held
    assert scores.loc[flagged & scores["neighbour_ids"].eq(""), "neighbours"].eq(neighbours.NOT_SEARCHED).all()
    assert full.loc[flagged, "neighbour_ids"].ne("").all()  # the default budget covers every flagged row
    line = dict(zip(full["id"], full["neighbours"]))

    def check(frame: pd.DataFrame, rows: int) -> None:
        assert len(frame) == rows
        assert frame["neighbours"].tolist() == [line[i] for i in frame["id"]]

    done = run_cli("export", run_dir)  # our own, unannotated suspects.csv: rewritten
    assert done.returncode == 0, done.stderr
    check(pd.read_csv(run_dir / "suspects.csv", keep_default_na=False, encoding="utf-8-sig"), int(flagged.sum()))
    done = run_cli("export", run_dir, "--top", 120, "--out", tmp_path / "top.csv")
    assert done.returncode == 0, done.stderr
    check(pd.read_csv(tmp_path / "top.csv", keep_default_na=False, encoding="utf-8-sig"), 120)
    from auditor import load_run

    load_run(run_dir).export_suspects(tmp_path / "api.csv", top=120)  # the Python API's export, alike
    check(pd.read_csv(tmp_path / "api.csv", keep_default_na=False, encoding="utf-8-sig"), 120)
    for fmt, name in (("label-studio", "label_studio_tasks.json"), ("argilla", "argilla_records.json")):
        done = run_cli("export", run_dir, "--format", fmt, "--top", 100)
        assert done.returncode == 0, done.stderr
        items = json.loads((run_dir / name).read_text(encoding="utf-8"))
        fields = [item["data"] if fmt == "label-studio" else item["fields"] for item in items]
        ids = [int(item["data"]["auditor_id"] if fmt == "label-studio" else item["id"]) for item in items]
        check(pd.DataFrame({"id": ids, "neighbours": [f.get("neighbours", "") for f in fields]}), 100)
    done = run_cli("report", run_dir, "--max-rows", 40, "--overwrite")
    assert done.returncode == 0, done.stderr
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    top = scores.iloc[neighbours.evidence_rows(scores["rank"], flagged, 40, budget_cells=0)]
    missing = [i for i in top["id"] if line[i] not in page and json.dumps(line[i])[1:-1] not in page]
    assert not missing and neighbours.NOT_SEARCHED not in page
    # scores.csv is an input of export and report: never rewritten.
    assert pd.read_csv(run_dir / "scores.csv", keep_default_na=False)["neighbour_ids"].ne("").sum() == 3


def test_on_demand_neighbours_use_the_runs_embeddings_or_say_they_are_tf_idf():
    """A run folder with embeddings.npy: the same features as the run, nothing said; a run whose method
    yields embeddings but whose file is gone: TF-IDF, said in the column; a TF-IDF run: nothing said."""
    from types import SimpleNamespace

    import pandas as pd

    from auditor.annotate.export import scores_with_neighbours

    texts = ["cheap pizza oven", "pizza oven bread", "oven pizza dinner", "python laptop code",
             "laptop python server", "goal match team"]
    names = ["food", "tech", "sport"]
    labels = np.array([0, 0, 0, 1, 1, 2])
    scores = pd.DataFrame({"id": np.arange(6), "text": texts, "given_label": [names[i] for i in labels],
                           "neighbour_ids": "", "neighbour_similarities": "", "neighbours": ""})
    embeddings = np.eye(6)[[0, 1, 2, 3, 4, 0]]  # rows 0 and 5 alike, as their texts are not

    def run(method, emb):
        return SimpleNamespace(scores=scores, metrics={}, run={"resolved_method": method}, class_names=names,
                               embeddings=emb)

    by_embeddings = scores_with_neighbours(run("embeddings+tfidf", embeddings), [0])
    assert by_embeddings.at[0, "neighbours"] == "1/1 nearest labelled sport: 1.00 id 5 (sport)"
    gone = scores_with_neighbours(run("hybrid", None), [0, 3])
    assert gone.loc[[0, 3], "neighbours"].str.startswith("TF-IDF (the run used embeddings): ").all()
    assert gone.loc[[1, 2, 4, 5], "neighbours"].eq("").all()
    tfidf = scores_with_neighbours(run("tfidf+nb", None), [0])
    assert tfidf.at[0, "neighbours"] == gone.at[0, "neighbours"].removeprefix("TF-IDF (the run used embeddings): ")
