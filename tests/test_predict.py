"""`predict` with a saved model, `run --save-model`, and `--push-to-hub` failing cleanly offline."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import EMOTION_TRAIN, easy_dataset, run_cli
from report_helpers import build_run

from auditor.config import RunConfig, default_model
from auditor.errors import HubError, OptionError
from auditor.final_model import model_card, push_to_hub
from auditor.result import load_run

CLASSES = ["food", "sport", "tech"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A run-like folder holding the packaged MiniLM with an (untrained) 3-class head, saved as `run --save-model` saves."""
    from auditor.backends.finetune import load_classifier, load_tokenizer

    run_dir = tmp_path_factory.mktemp("saved") / "run"
    model = load_classifier(default_model(), len(CLASSES), CLASSES)
    model.save_pretrained(run_dir / "model")
    load_tokenizer(default_model()).save_pretrained(run_dir / "model")
    return run_dir


def _probabilities(stdout: str) -> dict[str, list[float]]:
    found = {}
    for name, value in re.findall(r"^  (\w+)\s+([0-9.]+)$", stdout, re.M):
        found.setdefault(name, []).append(float(value))
    return found


def test_predict_prints_probabilities_and_writes_a_plot(saved_model, tmp_path):
    plot = tmp_path / "probs.png"
    texts = ["I saw a movie today and it was really good.", "<b>python compiler</b> $5 $6"]
    done = run_cli("predict", *texts, "--model", saved_model, "--plot", plot)
    assert done.returncode == 0, done.stderr
    probs = _probabilities(done.stdout)
    assert sorted(probs) == CLASSES and all(len(v) == 2 for v in probs.values())
    for i in range(2):
        assert abs(sum(v[i] for v in probs.values()) - 1) < 0.01
    assert plot.read_bytes()[:8] == PNG
    assert done.stdout.count(" -> ") == 2


def test_predict_cuts_texts_as_the_saved_model_was_trained(saved_model, tmp_path):
    """config.json's auditor_max_length/auditor_truncation decide the cut; a model without them (a Hub model)
    is cut as a plain `pipeline(..., truncation=True)` cuts it."""
    import shutil

    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from auditor.backends.finetune import truncate
    from auditor.predict import predict_texts

    texts = [" ".join(f"word{i} topic{i % 7}" for i in range(200)) + " the end is about sport", "short text"]
    plain = str(saved_model / "model")
    expected = pipeline("text-classification", model=plain, top_k=None, device="cpu")(texts, truncation=True)
    got = predict_texts(texts, plain)
    for output, probs in zip(expected, got):
        assert probs == pytest.approx({o["label"]: o["score"] for o in output}, abs=1e-5)

    cut = tmp_path / "model"
    shutil.copytree(plain, cut)
    config = AutoConfig.from_pretrained(cut)
    config.update({"auditor_max_length": 24, "auditor_truncation": "head+tail"})
    config.save_pretrained(cut)
    tokenizer = AutoTokenizer.from_pretrained(cut)
    model = AutoModelForSequenceClassification.from_pretrained(cut).eval()

    def by_hand(truncation):
        batch = tokenizer.pad(truncate(tokenizer, texts, 24, truncation), return_tensors="pt")
        with torch.no_grad():
            return torch.softmax(model(**batch).logits, -1).numpy()

    got = np.array([[p[c] for c in CLASSES] for p in predict_texts(texts, str(cut))])
    assert np.allclose(got, by_hand("head+tail"), atol=1e-5)
    assert not np.allclose(got[0], by_hand("head")[0], atol=1e-6)  # the long text's tail changed the answer
    assert np.allclose(got[1], by_hand("head")[1], atol=1e-5)  # the short one fits either way


def test_model_is_found_in_a_run_folder_or_given_directly(saved_model):
    from auditor.predict import resolve_model_dir

    assert resolve_model_dir(str(saved_model)) == str(saved_model / "model")
    assert resolve_model_dir(str(saved_model / "model")) == str(saved_model / "model")
    assert resolve_model_dir("someone/some-model") == "someone/some-model"


@pytest.mark.parametrize("args, message", [
    (["--model", "{tmp}"], "no saved model in this folder"),
    (["--model", "{model}", "--plot", "{tmp}/p.xyz"], "unknown image type '.xyz'"),
    (["--model", "{model}", "--plot", "{tmp}/missing/p.png"], "does not exist"),
])
def test_predict_errors_are_one_line(saved_model, tmp_path, args, message):
    args = [a.format(tmp=tmp_path, model=saved_model) for a in args]
    done = run_cli("predict", "some text", *args)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, message", [
    (["--method", "tfidf", "--save-model"], "resolves to 'tfidf'"),
    (["--method", "tfidf", "--push-to-hub", "me/model"], "--push-to-hub needs --save-model"),
    (["--method", "finetune", "--save-model", "--push-to-hub", "not a repo!"], "not a valid repository id"),
    (["--pred-probs", "x.npy", "--save-model"], "k-fold runs only"),
])
def test_model_options_are_refused_before_any_work(tmp_path, args, message):
    out = tmp_path / "run"
    done = run_cli("run", "--data", EMOTION_TRAIN, "--out", out, *args)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not out.exists()


def test_push_without_network_fails_cleanly_and_keeps_the_folder(saved_model, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set.*run folder .* is complete"):
        push_to_hub(saved_model, "me/model")
    # With the offline switch off and a token, the real client meets no network (or a bad token).
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    with pytest.raises(HubError, match=r"^push_to_hub=me/model: cannot push: .*is complete") as info:
        push_to_hub(saved_model, "me/model")
    assert "\n" not in str(info.value) and info.value.param == "push_to_hub"
    assert info.value.cli_message().startswith("--push-to-hub me/model: cannot push")
    assert (saved_model / "model" / "config.json").is_file()


def test_model_card_reports_the_audit(tmp_path):
    path = tmp_path / "d.csv"
    easy_dataset(20).to_csv(path, index=False)
    result = load_run(build_run(path, tmp_path / "run"))
    card = model_card(result, RunConfig(method="finetune"))
    assert card.startswith("---\n") and "pipeline_tag: text-classification" in card
    assert "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert f"accuracy: {result.metrics['accuracy']:.4f}" in card and "| sport |" in card
    assert str(tmp_path) not in card, "a local path must not be published"


@pytest.mark.slow
@pytest.mark.ci_slow
def test_save_model_then_push_offline_then_predict(tmp_path):
    """A default `--method finetune` run (device defaults: no --batch-size) of 100 rows, 2 folds, 1 epoch,
    texts cut at 32 tokens, then the final model on all rows; about a minute on 2 CPU cores (CI's second tier)."""
    data = tmp_path / "emotion100.txt"
    data.write_text("\n".join(EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:100]) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    done = run_cli("run", "--data", data, "--method", "finetune", "--folds", 2, "--epochs", 1, "--max-length", 32,
                   "--truncation", "head+tail", "--quiet", "--save-model", "--push-to-hub", "me/emotion-audit", "--out", out)
    assert done.returncode == 2, done.stderr[-3000:]
    # --quiet: the one error line and nothing else (no model-loading report, progress bars or warnings).
    error = done.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("auditor: error: --push-to-hub me/emotion-audit: cannot push")
    assert "Out-of-sample accuracy" in done.stdout  # the summary came before the push
    for name in ("scores.csv", "report.html", "suspects.csv", "model/config.json", "model/README.md"):
        assert (out / name).is_file(), name
    assert json.loads((out / "run.json").read_text())["saved_model"] == "model"
    config = json.loads((out / "model" / "config.json").read_text())
    classes = json.loads((out / "metrics.json").read_text())["classes"]
    assert [config["id2label"][str(i)] for i in range(len(classes))] == classes
    batch = json.loads((out / "metrics.json").read_text())["backend_details"]["finetune"]["batch_size"]
    assert f"batch size {batch}," in (out / "model" / "README.md").read_text()  # the k-fold's own settings
    # The cut is recorded where each reader looks: run.json's config, metrics, the report, the saved model.
    assert json.loads((out / "run.json").read_text())["config"]["train"]["truncation"] == "head+tail"
    assert json.loads((out / "metrics.json").read_text())["backend_details"]["finetune"]["truncation"] == "head+tail"
    assert "32 tokens (set by --max-length), head+tail truncation" in (out / "report.html").read_text()
    assert "truncation head+tail" in (out / "model" / "README.md").read_text()
    assert (config["auditor_max_length"], config["auditor_truncation"]) == (32, "head+tail")  # for `predict`

    plot = tmp_path / "tweet.png"
    done = run_cli("predict", "i feel so happy today", "--model", out, "--plot", plot)
    assert done.returncode == 0, done.stderr
    assert sorted(_probabilities(done.stdout)) == sorted(classes)
    assert plot.read_bytes()[:8] == PNG
