"""Multi-label runs with the options single-label runs have: --pred-probs, --resume and --train-data, on small
slices of GoEmotions (headerless TSV of text, comma-joined label ids, comment id)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditor import RunDirError, audit, load_run
from auditor.config import DataConfig, RunConfig, TrainConfig
from auditor.errors import DataError
from auditor.multilabel import bench
from auditor.multilabel.backend import out_of_sample_multilabel
from auditor.multilabel.data import load_multilabel
from auditor.resume import FoldCache
from conftest import GOEMOTIONS, run_cli
from test_bad_inputs import assert_one_line_error, main_in_process


GO = GOEMOTIONS
pytestmark = pytest.mark.skipif(GO is None, reason="GoEmotions not found under ../shared or /work/shared")
NAMES = (GO / "emotions.txt").read_text().split() if GO else []
RUN = ("--method", "tfidf", "--folds", "3", "--seed", "7")


def _go_args() -> tuple:
    return ("--column-names", "text,labels,id", "--label-names", GO / "emotions.txt", "--id-column", "id")


def _lines(start: int, stop: int) -> str:
    with open(GO / "train.tsv", encoding="utf-8") as handle:
        return "".join(handle.readlines()[start:stop])


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=["text", "labels", "id"], quoting=csv.QUOTE_NONE,
                       dtype=str)


@pytest.fixture(scope="module")
def go200(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("go") / "go200.tsv"
    path.write_text(_lines(0, 200), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fresh(go200, tmp_path_factory) -> Path:
    """An uninterrupted k-fold run of go200: the scores a resumed run and its own probabilities must give."""
    out = tmp_path_factory.mktemp("fresh") / "run"
    proc = run_cli("run", "--data", go200, *_go_args(), *RUN, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def _probs(result) -> np.ndarray:
    return result.scores[[f"prob_{n}" for n in NAMES]].to_numpy()


# ------------------------------------------------------------------------------------------- --pred-probs


def test_pred_probs_file_or_array_gives_the_scores_of_those_probabilities(tmp_path, go200, fresh):
    """The per-label probabilities of a k-fold run (rows do not sum to 1), given back as a .npy file, a CSV
    whose columns are the label names in another order, or an array: the same scores, marked as given."""
    ran = load_run(fresh)
    probs = _probs(ran)
    assert not np.allclose(probs.sum(axis=1), 1)
    npy, table = tmp_path / "p.npy", tmp_path / "p.csv"
    np.save(npy, probs)
    pd.DataFrame(probs, columns=NAMES)[NAMES[::-1]].to_csv(table, index=False)

    out = tmp_path / "given"
    proc = run_cli("run", "--data", go200, *_go_args(), "--pred-probs", npy, "--seed", "7", "--out", out,
                   "--top", "2")
    assert proc.returncode == 0, proc.stderr
    assert "method precomputed, probabilities given" in proc.stdout
    given = load_run(out)
    expected = ran.scores.drop(columns="fold")
    pd.testing.assert_frame_equal(given.scores.drop(columns="fold"), expected, check_exact=True)
    assert (given.scores["fold"] == -1).all()
    assert given.metrics["method"] == "precomputed" and given.metrics["pred_probs_given"] is True
    assert given.metrics["folds"] is None and ran.metrics["pred_probs_given"] is False
    run = json.loads((out / "run.json").read_text())
    assert run["resolved_method"] == "precomputed" and run["config"]["pred_probs"] == str(npy)
    assert run["data"]["pred_probs_sha256"] == hashlib.sha256(npy.read_bytes()).hexdigest()
    assert "none (probabilities not from k-fold)" in (out / "report.html").read_text()

    frame = _frame(go200)
    options = dict(label_column="labels", id_column="id", label_names=GO / "emotions.txt", seed=7, verbose=False)
    for probabilities in (table, probs):
        result = audit(frame, pred_probs=probabilities, **options)  # in memory: text columns as strings
        pd.testing.assert_frame_equal(result.scores.drop(columns="fold"), expected, check_exact=True,
                                      check_dtype=False)
    wrong = probs.copy()
    wrong[3, 4] = 1.2
    with pytest.raises(DataError, match=r"pred_probs: row 4, column 5 \(label 'approval'\) holds 1.2; expected a "
                                        r"probability in \[0, 1\]"):
        audit(frame, pred_probs=wrong, **options)
    with pytest.raises(DataError, match=r"shape \(200, 27\); expected \(200, 28\): one row per example, one column"):
        audit(frame, pred_probs=probs[:, 1:], **options)


# ---------------------------------------------------------------------------------------------- --resume


def test_interrupted_run_resumes_to_the_scores_of_an_uninterrupted_run(tmp_path, go200, fresh):
    """Ctrl-C while fold 2 of 3 trains (raised where the run announces it): the folder keeps fold 1 and
    is marked incomplete; a resume with other data or options is refused; --resume trains folds 2 and 3
    only and gives exactly the scores of the uninterrupted run."""
    from auditor.pipeline import run

    out = tmp_path / "run"
    config = RunConfig(data=DataConfig(source=str(go200), column_names="text,labels,id",
                                       label_names=str(GO / "emotions.txt"), id_column="id"),
                       method="tfidf", folds=3, seed=7, out=str(out), command="python -m auditor run ...")

    def interrupt(message: str) -> None:
        if "fold 2/3" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="keeps 1 of 3 fold fits finished"):
        run(config, interrupt)
    assert (out / "INCOMPLETE").is_file() and json.loads((out / "run.json").read_text())["complete"] is False
    assert sorted(p.name for p in (out / ".partial").glob("*.npz")) == ["tfidf-fold-0.npz"]
    with pytest.raises(RunDirError, match="not a finished run"):
        load_run(out)

    args = ("run", "--data", go200, *_go_args(), "--out", out)
    assert_one_line_error(main_in_process(*args, *RUN), "holds an interrupted run; pass --resume")
    assert_one_line_error(main_in_process(*args, *RUN[:-1], "8", "--resume"), "started with different seed")
    changed = tmp_path / "changed.tsv"
    changed.write_text(_lines(0, 199) + _lines(200, 201), encoding="utf-8")
    assert_one_line_error(main_in_process("run", "--data", changed, *_go_args(), "--out", out, *RUN, "--resume"),
                          "started with different data")
    assert (out / "INCOMPLETE").is_file()

    resumed = run_cli(*args, *RUN, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "tfidf: fold 1/3" not in resumed.stderr and "tfidf: fold 2/3" in resumed.stderr
    assert "tfidf: folds 1 taken from the interrupted run" in resumed.stderr
    assert not (out / "INCOMPLETE").exists() and not (out / ".partial").exists()
    done, uninterrupted = load_run(out), load_run(fresh)
    pd.testing.assert_frame_equal(done.scores, uninterrupted.scores, check_exact=True)
    assert done.metrics["backend_details"]["tfidf"]["resumed_folds"] == [0]
    for key in ("f1_micro", "f1_macro", "per_class", "confusion_2x2", "thresholds", "label_issues"):
        assert done.metrics[key] == uninterrupted.metrics[key], key
    assert done.run["fingerprint"] == uninterrupted.run["fingerprint"]


def test_fold_cache_supplies_the_finished_folds(tmp_path, go200):
    data = load_multilabel(DataConfig(source=str(go200), column_names="text,labels,id",
                                      label_names=str(GO / "emotions.txt")))
    args = (data.texts, data.labels, ("tfidf",), 3, 0, TrainConfig(), None, data.class_names)
    first = out_of_sample_multilabel(*args, FoldCache(tmp_path, "fp"))
    (tmp_path / "tfidf-fold-2.npz").unlink()  # as if the run had been killed during its last fold
    cache = FoldCache(tmp_path, "fp")
    second = out_of_sample_multilabel(*args, cache)
    assert cache.hits == ["tfidf-fold-0", "tfidf-fold-1"]
    assert second[2]["tfidf"]["resumed_folds"] == [0, 1]
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert out_of_sample_multilabel(*args, FoldCache(tmp_path, "other"))[2]["tfidf"].get("resumed_folds") is None


# ------------------------------------------------------------------------------------------ --train-data


def _guesses(scores: pd.DataFrame) -> list[str]:
    index = {n: j for j, n in enumerate(NAMES)}
    return [g[0] + str(index[g[1:]]) if isinstance(g, str) and g else "" for g in scores["suspect_label"]]


def test_train_data_trains_once_on_clean_sets_and_finds_planted_changes(tmp_path):
    """300 GoEmotions comments with 10% planted changes (drop / add / swap), audited by a model trained once
    on 1,200 other, unchanged comments: more of the changes rank high than with 3-fold on the 300 alone
    (AP 0.36 against 0.16 when written; chance 0.10), and the guess names the changed label."""
    frame = _frame(GO / "train.tsv").iloc[:1500]
    clean = np.zeros((len(frame), len(NAMES)), dtype=np.int8)
    for i, ids in enumerate(frame["labels"]):
        clean[i, [int(j) for j in ids.split(",")]] = 1
    noisy, changed, answers = bench.plant_multilabel_noise(clean[:300], 0.1, seed=0)
    audited, train = tmp_path / "audited.csv", tmp_path / "train.csv"
    bench.noisy_frame(frame["text"].iloc[:300], noisy, NAMES).to_csv(audited, index=False)
    frame[["text", "labels"]].iloc[300:].to_csv(train, index=False)

    out = tmp_path / "run"
    proc = run_cli("run", "--data", audited, "--train-data", train, "--label-names", GO / "emotions.txt",
                   "--out", out, "--top", "0")
    assert proc.returncode == 0, proc.stderr
    assert "trained once on --train-data" in proc.stdout and f"trained on {train}" in proc.stderr
    result = load_run(out)
    assert (result.scores["fold"] == -1).all() and result.metrics["folds"] is None
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["train_data"]["label_names"] == str(GO / "emotions.txt")
    assert run["train_data"]["rows"] == 1200 and run["data"]["train_data_sha256"]
    trained = bench.evaluate(result.scores["label_issue_score"].to_numpy(), _guesses(result.scores), changed,
                             answers)
    kfold = audit(audited, label_names=GO / "emotions.txt", folds=3, verbose=False).scores
    alone = bench.evaluate(kfold["label_issue_score"].to_numpy(), _guesses(kfold), changed, answers)
    assert trained["ap"] > 0.25 and trained["ap"] > alone["ap"] + 0.1, (trained, alone)
    assert trained["which_label_right"] >= 0.7, trained


def test_train_data_through_the_api_and_the_cli(tmp_path):
    """The same scores from `audit(..., train_data=)` and the CLI; a training label the audited data lacks
    is refused with one line, before any folder is made."""
    data = pd.DataFrame({"text": ["so happy", "love it", "happy love", "great joy", "my love", "happy day"],
                         "labels": ["joy", "love", "joy|love", "joy", "love", "joy"]})
    train = pd.DataFrame({"text": ["joyful day", "lovely", "happy and loved", "a joy", "love you"],
                          "labels": ["joy", "love", "joy|love", "joy", "love"]})
    path, train_path = tmp_path / "data.csv", tmp_path / "train.csv"
    data.to_csv(path, index=False)
    train.to_csv(train_path, index=False)
    args = ("run", "--data", path, "--label-separator", "|", "--train-data", train_path, "--quiet")
    proc = main_in_process(*args, "--out", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    api = audit(data, label_column="labels", label_separator="|", train_data=train, verbose=False)
    pd.testing.assert_frame_equal(api.scores, load_run(tmp_path / "run").scores, check_exact=True,
                                  check_dtype=False)

    train.loc[1, "labels"] = "anger"
    with pytest.raises(DataError, match=r"<train_data DataFrame>: label 'anger' does not occur in <DataFrame>; "
                                        r"expected one of \['joy', 'love'\]"):
        audit(data, label_column="labels", label_separator="|", train_data=train, verbose=False)
    train.to_csv(train_path, index=False)
    proc = main_in_process(*args, "--out", tmp_path / "refused", cwd=tmp_path)
    assert_one_line_error(proc, "train.csv: label 'anger' does not occur in", "data.csv")
    assert not (tmp_path / "refused").exists()
