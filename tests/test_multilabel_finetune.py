"""Multi-label fine-tuning: training dynamics per label, `--save-model` with the multi-label head, `predict`
with such a model (the set at 0.5, --out files), and `--push-to-hub` failing cleanly offline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import GOEMOTIONS, run_cli

from auditor.config import DataConfig, RunConfig, default_model
from auditor.errors import HubError, OptionError
from auditor.multilabel.data import multilabel_from_frame
from auditor.multilabel.dynamics import score_multilabel_dynamics
from auditor.multilabel.finetune import label_agreement
from auditor.multilabel.pipeline import multilabel_signals
from auditor.multilabel.scoring import score_multilabel, which_label

NAMES = ["joy", "love", "anger"]


GO = GOEMOTIONS


def test_label_agreement_is_the_most_doubted_labels_given_state():
    labels = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]])
    logits = np.array([[3.0, -2.0, 1.0],    # anger not given but likely: agreement sigmoid(-1)
                       [0.0, 4.0, -3.0],    # anger given, p = sigmoid(-3): the most doubted
                       [2.0, 2.0, -5.0]])   # every given state agreed with: least is joy/love at sigmoid(2)
    got = label_agreement(logits, labels)
    assert got["label"].tolist() == [2, 2, 0]
    assert np.allclose(got["margin"], [-1.0, -3.0, 2.0])
    assert np.allclose(got["p_given"], 1 / (1 + np.exp(-np.array([-1.0, -3.0, 2.0]))))
    assert got["correct"].tolist() == [False, False, True]
    # The given state's probability is p where labelled and 1 - p where not, for every label.
    probs = 1 / (1 + np.exp(-logits))
    agreement = np.where(labels == 1, probs, 1 - probs)
    assert np.allclose(got["p_given"], agreement.min(axis=1))


def _records() -> pd.DataFrame:
    """Row 0 doubts its labelled 'anger' at 3 of 4 checkpoints over two runs; row 1 is learnt; row 2 unseen."""
    rows = []
    for fold, epochs in ((0, [(0.2, 2), (0.3, 2)]), (1, [(0.1, 2), (0.9, 0)])):
        for epoch, (p, label) in enumerate(epochs, 1):
            rows.append(dict(row=0, fold=fold, epoch=epoch, p_given=p, margin=np.log(p / (1 - p)),
                             correct=p > 0.5, label=label))
            rows.append(dict(row=1, fold=fold, epoch=epoch, p_given=0.9, margin=2.2, correct=True, label=1))
    return pd.DataFrame(rows)


def test_dynamics_scores_name_the_most_doubted_label():
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0]])
    table = score_multilabel_dynamics(_records(), labels, NAMES)
    assert table["confidence_score"].iloc[0] == pytest.approx(0.375)
    assert table["variability_score"].iloc[0] == pytest.approx((0.05 + 0.4) / 2)  # within each run
    assert table["correctness_score"].iloc[0] == pytest.approx(0.25)
    assert table["cartography_region"].tolist() == ["ambiguous", "easy", ""]
    assert table["dynamics_label"].tolist() == ["-anger", "-love", ""]
    assert np.isnan(table["confidence_score"].iloc[2])
    labels[0, 2] = 0  # the same records where anger is not labelled: a probably missing label
    records = _records()
    records.loc[records["row"] == 0, "p_given"] = [0.2, 0.3, 0.1, 0.2]
    table = score_multilabel_dynamics(records, labels, NAMES)
    assert table["cartography_region"].iloc[0] == "hard-to-learn" and table["is_hard_to_learn_issue"].iloc[0]
    assert table["dynamics_reason"].iloc[0] == ("hard to learn: anger not labelled, which the model expects (the "
                                                "most doubted label at 3 of 4 checkpoints over 2 training runs; "
                                                "mean confidence 0.20)")
    assert table["dynamics_reason"].iloc[1] == ""


def _data(n: int = 12):
    rng = np.random.default_rng(0)
    sets = [[NAMES[i % 3]] + ([NAMES[(i + 1) % 3]] if i % 4 == 0 else []) for i in range(n)]
    frame = pd.DataFrame({"text": [f"text number {i} " + " ".join(s) for i, s in enumerate(sets)],
                          "labels": sets})
    data = multilabel_from_frame(frame, DataConfig(source="<frame>"), class_names=NAMES)
    return data, np.clip(rng.uniform(size=(n, 3)), 0.01, 0.99)


def test_dynamics_are_recorded_but_kept_out_of_the_ranking(monkeypatch):
    """Averaged in, they lowered AP on planted GoEmotions noise (BENCHMARKS.md), so by default they only add
    columns and reasons; `with_dynamics` is single-label's average, used when RANK_WITH_DYNAMICS is on."""
    from auditor.multilabel import scoring

    data, probs = _data()
    alone = score_multilabel(data, probs, signals=())
    least = alone["rank"].to_numpy().argmax()
    records = pd.DataFrame({"row": np.arange(len(probs)), "fold": 0, "epoch": 1.0, "p_given": 0.95,
                            "margin": 3.0, "correct": True, "label": 0})
    records.loc[least, "p_given"] = 0.01  # the least suspect row is by far the most doubted in training
    both = score_multilabel(data, probs, signals=(), dynamics=records)
    issue = which_label(data.labels, probs)[3]
    assert np.allclose(alone["label_issue_score"], issue) and np.allclose(both["label_issue_score"], issue)
    assert (both["rank"] == alone["rank"]).all() and (both["is_label_issue"] == alone["is_label_issue"]).all()
    for column in ("confidence_score", "variability_score", "aum_score", "cartography_region", "dynamics_label"):
        assert column in both and column not in alone
    hard = both["is_hard_to_learn_issue"].to_numpy(dtype=bool)
    assert np.flatnonzero(hard).tolist() == [least]
    assert "hard to learn: " in both["reasons"].iloc[least] and "hard to learn" not in alone["reasons"].iloc[least]

    monkeypatch.setattr(scoring, "RANK_WITH_DYNAMICS", True)
    averaged = score_multilabel(data, probs, signals=(), dynamics=records)
    assert np.allclose(averaged["label_issue_score"], (issue + 1 - records["p_given"].to_numpy()) / 2)
    assert averaged["rank"].iloc[least] < alone["rank"].iloc[least]


def test_signals_default_to_dynamics_wherever_the_method_fine_tunes():
    assert multilabel_signals(RunConfig(task="multi-label"), ("finetune",)) == ("duplicates", "outliers", "dynamics")
    assert multilabel_signals(RunConfig(task="multi-label"), ("tfidf",)) == ("duplicates", "outliers")
    assert multilabel_signals(RunConfig(task="multi-label", signals="outliers"), ("finetune",)) == ("outliers",)
    assert multilabel_signals(RunConfig(task="multi-label", signals="all"), ("tfidf",)) == ("duplicates", "outliers")
    with pytest.raises(OptionError, match="'dynamics' needs k-fold fine-tuning.*Got method 'tfidf'"):
        multilabel_signals(RunConfig(task="multi-label", signals="dynamics"), ("tfidf",))
    other = RunConfig(task="multi-label", train_data=DataConfig(source="other.tsv"))  # no k-fold: no dynamics
    assert multilabel_signals(other, ("finetune",)) == ("duplicates", "outliers")


@pytest.fixture(scope="module")
def multilabel_tsv(tmp_path_factory) -> Path:
    if GO is None:
        pytest.skip("GoEmotions not found under ../shared or /work/shared")
    path = tmp_path_factory.mktemp("go") / "go40.tsv"
    path.write_text("".join((GO / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)[:40]))
    return path


def _go_args(path) -> list:
    return ["--data", path, "--column-names", "text,labels,id", "--label-names", GO / "emotions.txt"]


@pytest.mark.parametrize("args, message", [
    (["--method", "tfidf", "--save-model"], "resolves to 'tfidf'"),
    (["--method", "tfidf", "--signals", "dynamics"], "'dynamics' needs k-fold fine-tuning"),
])
def test_multilabel_model_options_are_refused_before_any_work(multilabel_tsv, tmp_path, args, message):
    out = tmp_path / "run"
    done = run_cli("run", *_go_args(multilabel_tsv), "--out", out, *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not out.exists()


def test_multilabel_model_card_says_multi_label(tmp_path):
    from auditor import audit
    from auditor.final_model import model_card

    data, _ = _data(30)
    frame = pd.DataFrame({"text": data.texts, "labels": [s.split(",") for s in map(data.set_text, range(30))]})
    result = audit(frame, task="multi-label", method="tfidf", folds=3, verbose=False, signals="none")
    card = model_card(result, RunConfig(method="finetune", task="multi-label"))
    assert "- multi-label" in card and "`problem_type` is `multi_label_classification`" in card
    assert f"(3 labels: {', '.join(result.class_names)})" in card and "| label | precision |" in card
    assert f"micro F1: {result.metrics['f1_micro']:.4f}" in card and "| anger |" in card


@pytest.fixture(scope="module")
def multilabel_model(tmp_path_factory) -> Path:
    """The packaged MiniLM with an untrained multi-label head over NAMES, saved as `--save-model` saves it
    for data whose sets were joined by '|'."""
    from auditor.backends.finetune import load_classifier, load_tokenizer

    run_dir = tmp_path_factory.mktemp("saved") / "run"
    model = load_classifier(default_model(), len(NAMES), NAMES, problem_type="multi_label_classification")
    model.config.update({"auditor_label_separator": "|"})
    model.save_pretrained(run_dir / "model")
    load_tokenizer(default_model()).save_pretrained(run_dir / "model")
    return run_dir


def test_predict_gives_the_set_at_one_half_in_the_inputs_conventions(multilabel_model, tmp_path):
    texts = ["I love you so much", "this makes me so angry, thanks"]
    done = run_cli("predict", *texts, "--model", multilabel_model, "--out", tmp_path / "p.tsv")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "p.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["text"] for r in rows] == texts
    probs = np.array([[float(r[f"prob_{n}"]) for n in NAMES] for r in rows])
    assert not np.allclose(probs.sum(axis=1), 1.0)  # sigmoids, not a softmax
    for row, p in zip(rows, probs):
        assert row["predicted_labels"] == "|".join(n for n, q in zip(NAMES, p) if q >= 0.5)  # the input's separator
        assert "{" + ", ".join(n for n, q in zip(NAMES, p) if q >= 0.5) + "}" in done.stdout



def test_predictions_files_keep_sets_as_multilabel_input_does(tmp_path):
    """JSON Lines: a list per row; CSV: joined by the model's separator, quoted; a single-label model: one label."""
    from auditor.predict import Predictions, write_predictions

    probs = [{"joy": 0.9, "love": 0.6, "anger": 0.1}, {"joy": 0.2, "love": 0.4, "anger": 0.3}]
    found = Predictions(["a, b", "=c"], probs, multi_label=True, separator=",")
    lines = [json.loads(x) for x in write_predictions(found, tmp_path / "p.jsonl").read_text().splitlines()]
    assert lines[0] == {"text": "a, b", "predicted_labels": ["joy", "love"], "prob_joy": 0.9, "prob_love": 0.6,
                        "prob_anger": 0.1}
    assert lines[1]["predicted_labels"] == []  # no label reaches 0.5: the empty set
    frame = pd.read_csv(write_predictions(found, tmp_path / "p.csv"), keep_default_na=False)
    assert frame["predicted_labels"].tolist() == ["joy,love", ""] and frame["text"].tolist() == ["a, b", "'=c"]
    single = pd.read_csv(write_predictions(Predictions(["x", "y"], probs), tmp_path / "s.csv"))
    assert single["predicted_label"].tolist() == ["joy", "love"]


@pytest.mark.parametrize("out, message", [("p.txt", "unknown file type '.txt'"), ("p.csv", "already exists")])
def test_predict_out_is_checked_before_any_model_work(tmp_path, out, message):
    """`predict` calls this before loading the model; an existing file that is not ours stays as it was."""
    from auditor.errors import AuditorError
    from auditor.predict import check_output_path

    (tmp_path / "p.csv").write_text("someone's file\n")
    with pytest.raises(AuditorError, match=message) as info:
        check_output_path(tmp_path / out)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)
    assert (tmp_path / "p.csv").read_text() == "someone's file\n"
    assert check_output_path(tmp_path / "p.csv", overwrite=True) == tmp_path / "p.csv"


def test_push_of_a_multilabel_model_fails_cleanly_offline(multilabel_model, monkeypatch):
    from huggingface_hub import constants

    from auditor.final_model import push_to_hub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set.*run folder .* is complete"):
        push_to_hub(multilabel_model, "me/model")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    with pytest.raises(HubError, match=r"^push_to_hub=me/model: cannot push: .*is complete"):
        push_to_hub(multilabel_model, "me/model")


@pytest.mark.slow
@pytest.mark.ci_slow  # a real fine-tune, as single-label's test_save_model_then_push_offline_then_predict
def test_multilabel_finetune_save_model_push_offline_then_predict(multilabel_tsv, tmp_path):
    """40 GoEmotions rows, 2 folds, 1 epoch, texts cut at 32 tokens: the k-fold audit with dynamics, the final
    multi-label model on all rows, the push failing offline after the summary, then `predict` with the run folder."""
    out = tmp_path / "run"
    done = run_cli("run", *_go_args(multilabel_tsv), "--method", "finetune", "--folds", 2, "--epochs", 1,
                   "--max-length", 32, "--quiet", "--save-model", "--push-to-hub", "me/go-audit", "--out", out)
    assert done.returncode == 2, done.stderr[-3000:]
    error = done.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("auditor: error: --push-to-hub me/go-audit: cannot push")
    assert "micro F1" in done.stdout  # the summary came before the push
    scores = pd.read_csv(out / "scores.csv")
    assert scores["confidence_score"].between(0, 1).all() and scores["dynamics_label"].str.len().gt(0).all()
    assert "dynamics" in json.loads((out / "metrics.json").read_text())["signals"]
    assert json.loads((out / "run.json").read_text())["saved_model"] == "model"
    config = json.loads((out / "model" / "config.json").read_text())
    names = (GO / "emotions.txt").read_text().split()
    assert config["problem_type"] == "multi_label_classification"
    assert [config["id2label"][str(i)] for i in range(len(names))] == names
    assert (config["auditor_max_length"], config["auditor_truncation"], config["auditor_label_separator"]) == \
        (32, "head", ",")
    card = (out / "model" / "README.md").read_text()
    assert "Multi-label text classifier" in card and "multi_label_classification" in card and "gratitude" in card

    done = run_cli("predict", "thank you so much, I love it", "what?", "--model", out, "--out", tmp_path / "p.csv")
    assert done.returncode == 0, done.stderr
    predicted = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert list(predicted.columns) == ["text", "predicted_labels", *[f"prob_{n}" for n in names]]
    for _, row in predicted.iterrows():
        assert row["predicted_labels"] == ",".join(n for n in names if row[f"prob_{n}"] >= 0.5)


@pytest.mark.slow
@pytest.mark.ci_slow
def test_resumed_finetune_keeps_each_folds_training_dynamics(multilabel_tsv, tmp_path):
    """A fold taken from the cache brings back its dynamics records (`label` included): the resumed run's
    records and probabilities are those of the uninterrupted run. 40 rows, 2 folds, 1 epoch, 32 tokens."""
    from auditor.config import TrainConfig
    from auditor.multilabel.backend import out_of_sample_multilabel
    from auditor.multilabel.data import load_multilabel
    from auditor.resume import FoldCache

    data = load_multilabel(DataConfig(source=str(multilabel_tsv), column_names="text,labels,id",
                                      label_names=str(GO / "emotions.txt")))
    train = TrainConfig(epochs=1, max_length=32, dynamics_per_epoch=1)
    args = (data.texts, data.labels, ("finetune",), 2, 0, train, None, data.class_names)
    first = out_of_sample_multilabel(*args, FoldCache(tmp_path, "fp"))
    (tmp_path / "finetune-fold-1.npz").unlink()  # killed during its last fold
    cache = FoldCache(tmp_path, "fp")
    second = out_of_sample_multilabel(*args, cache)
    assert cache.hits == ["finetune-fold-0"] and second[2]["finetune"]["resumed_folds"] == [0]
    np.testing.assert_allclose(first[0], second[0], rtol=1e-6)
    a, b = (r[3].sort_values(["fold", "row"], ignore_index=True) for r in (first, second))
    assert sorted(a["row"]) == list(range(len(data))) and list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6, check_dtype=False)
