"""Nothing lost: interrupted runs leave a folder marked incomplete, `--resume` finishes them with the same
scores, and existing folders and inputs are never overwritten by accident."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditor import RunDirError, load_run
from auditor.backends import out_of_sample
from auditor.config import TrainConfig
from auditor.resume import FoldCache
from conftest import EMOTION_TRAIN, ROOT, easy_dataset, run_cli

ARGS = ("--method", "tfidf", "--folds", "3", "--seed", "7")


@pytest.fixture(scope="module")
def emotion200(tmp_path_factory) -> Path:
    """200 tweets: each tfidf fold takes a second or more, far longer than it takes to send a signal."""
    path = tmp_path_factory.mktemp("data") / "emotion200.txt"
    lines = EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:200]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _start(data: Path, out: Path, *extra) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "auditor", "run", "--data", str(data), "--out", str(out), *ARGS, *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path.name} appeared: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def _interrupt_after_first_fold(data: Path, out: Path, signum) -> subprocess.CompletedProcess:
    proc = _start(data, out, "--quiet")
    _wait_for(out / ".partial" / "tfidf-fold-0.npz", proc)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _assert_marked_incomplete(out: Path) -> None:
    assert (out / "INCOMPLETE").is_file()
    assert json.loads((out / "run.json").read_text())["complete"] is False
    assert (out / ".partial" / "tfidf-fold-0.npz").is_file()
    assert not (out / "scores.csv").exists()
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    with pytest.raises(RunDirError, match="not a finished run.*--resume"):
        load_run(out)


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_folds_leaves_a_folder_marked_incomplete(tmp_path, emotion200, signum):
    before = _sha(emotion200)
    out = tmp_path / "run"
    proc = _interrupt_after_first_fold(emotion200, out, signum)
    assert proc.returncode == 128 + signum, proc.stderr
    line = _one_line(proc.stderr)
    assert line.startswith(f"auditor: interrupted ({signal.Signals(signum).name}); {out} keeps 1 of 3 fold fits")
    assert "--resume" in line
    _assert_marked_incomplete(out)
    assert _sha(emotion200) == before
    if signum == signal.SIGINT:
        report = run_cli("report", out)
        assert report.returncode == 2 and "not a finished run" in _one_line(report.stderr)


def test_signal_before_any_fold_finishes_leaves_no_folder(tmp_path, emotion200):
    out = tmp_path / "run"
    proc = _start(emotion200, out)
    for line in proc.stderr:  # progress lines: the fold loop has started when fold 1 is announced
        if "tfidf: fold 1/3" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143, stderr
    assert _one_line(stderr) == "auditor: interrupted (SIGTERM); no run folder was written."
    assert list(tmp_path.iterdir()) == []


def test_killed_run_resumes_to_the_scores_of_an_uninterrupted_run(tmp_path, emotion200):
    out = tmp_path / "run"
    proc = _start(emotion200, out, "--quiet")
    _wait_for(out / ".partial" / "tfidf-fold-0.npz", proc)
    proc.kill()  # SIGKILL: no handler runs, only what was already on disk counts
    proc.communicate(timeout=60)
    _assert_marked_incomplete(out)

    again = run_cli("run", "--data", emotion200, "--out", out, *ARGS)
    assert again.returncode == 2 and "holds an interrupted run; pass --resume" in _one_line(again.stderr)
    changed = run_cli("run", "--data", emotion200, "--out", out, *ARGS[:-1], "8", "--resume")
    assert changed.returncode == 2 and "started with different seed" in _one_line(changed.stderr)
    _assert_marked_incomplete(out)

    resumed = run_cli("run", "--data", emotion200, "--out", out, *ARGS, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "tfidf: fold 1/3" not in resumed.stderr and "tfidf: fold 2/3" in resumed.stderr
    assert "folds 1 taken from the interrupted run" in resumed.stderr
    assert not (out / "INCOMPLETE").exists() and not (out / ".partial").exists()

    fresh = run_cli("run", "--data", emotion200, "--out", tmp_path / "fresh", *ARGS, "--quiet")
    assert fresh.returncode == 0, fresh.stderr
    resumed_result, fresh_result = load_run(out), load_run(tmp_path / "fresh")
    pd.testing.assert_frame_equal(resumed_result.scores, fresh_result.scores, check_exact=True)
    assert resumed_result.metrics["backend_details"]["tfidf"]["resumed_folds"] == [0]
    for key in ("accuracy", "f1_weighted", "confusion_matrix", "label_issues", "per_class"):
        assert resumed_result.metrics[key] == fresh_result.metrics[key]
    assert resumed_result.run["fingerprint"] == fresh_result.run["fingerprint"]


def test_resume_needs_an_interrupted_run(tmp_path, emotion200):
    proc = run_cli("run", "--data", emotion200, "--out", tmp_path / "none", *ARGS, "--resume")
    assert proc.returncode == 2 and "does not exist" in _one_line(proc.stderr)
    proc = run_cli("run", "--data", emotion200, *ARGS, "--resume")
    assert proc.returncode == 2 and "'resume' option needs --out" in _one_line(proc.stderr)


def test_existing_run_is_replaced_only_with_overwrite(tmp_path):
    data = ROOT / "tests" / "data" / "bad" / "small.csv"
    out = tmp_path / "run"
    first = run_cli("run", "--data", data, "--out", out, "--method", "tfidf", "--folds", "2", "--quiet")
    assert first.returncode == 0, first.stderr
    saved = {p.name: _sha(p) for p in out.iterdir()}
    refused = run_cli("run", "--data", data, "--out", out, "--method", "tfidf", "--folds", "3")
    assert refused.returncode == 2 and "already exists" in _one_line(refused.stderr)
    assert {p.name: _sha(p) for p in out.iterdir()} == saved
    replaced = run_cli("run", "--data", data, "--out", out, "--method", "tfidf", "--folds", "3", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert load_run(out).metrics["folds"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    """safeio.folder_into_place, which run folders, --save-model's model and --resume's state go through."""
    from auditor.safeio import folder_into_place

    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with folder_into_place(target) as tmp:
            (tmp / "new.txt").write_text("half")
            raise KeyboardInterrupt
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with folder_into_place(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.tmp-")
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary, no old copy left


def test_overwrite_never_replaces_a_folder_that_is_not_a_run(tmp_path):
    data = ROOT / "tests" / "data" / "bad" / "small.csv"
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    proc = run_cli("run", "--data", data, "--out", home, "--method", "tfidf", "--folds", "2", "--overwrite")
    assert proc.returncode == 2 and "not a run folder" in _one_line(proc.stderr)
    assert (home / "thesis.tex").read_text() == "years of work"


def test_overwrite_never_deletes_the_input(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text("{}")
    data = out / "data.csv"
    data.write_bytes((ROOT / "tests" / "data" / "bad" / "small.csv").read_bytes())
    proc = run_cli("run", "--data", data, "--out", out, "--method", "tfidf", "--folds", "2", "--overwrite")
    assert proc.returncode == 2 and "holds the input" in _one_line(proc.stderr)
    assert data.is_file()


def test_cached_folds_and_embeddings_give_the_same_probabilities(tmp_path):
    frame = easy_dataset(20)
    labels = frame["label"].map({"food": 0, "sport": 1, "tech": 2}).to_numpy()
    texts = frame["text"].tolist()
    first = out_of_sample(texts, labels, 3, ("hybrid",), 3, 0, TrainConfig(), None, FoldCache(tmp_path, "fp"))
    (tmp_path / "hybrid-fold-2.npz").unlink()  # as if the run had been killed during its last fold
    cache = FoldCache(tmp_path, "fp")
    second = out_of_sample(texts, labels, 3, ("hybrid",), 3, 0, TrainConfig(), None, cache)
    assert cache.hits == ["hybrid-prepared", "hybrid-fold-0", "hybrid-fold-1"]  # embeddings not encoded again
    assert second.details["hybrid"]["resumed_folds"] == [0, 1]
    np.testing.assert_array_equal(first.pred_probs, second.pred_probs)
    np.testing.assert_array_equal(first.embeddings, second.embeddings)


def test_fold_cache_round_trip_checks_the_fingerprint(tmp_path):
    cache = FoldCache(tmp_path, "abc")
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=5)
    cache.put("tfidf", "fold-0", probs=probs)
    np.testing.assert_array_equal(cache.get("tfidf", "fold-0")["probs"], probs)
    assert cache.get("tfidf", "fold-1") is None
    assert FoldCache(tmp_path, "other").get("tfidf", "fold-0") is None  # another run's file is never used
    assert cache.finished() == ["tfidf-fold-0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tfidf-fold-0.npz"]  # no temporary file left


@pytest.mark.slow
@pytest.mark.ci_slow
def test_killed_finetune_resumes_with_its_training_dynamics(tmp_path):
    """Fine-tuning (120 tweets, 1 epoch, 2 folds, 32 tokens) with training dynamics: the cached fold keeps its
    dynamics records, so the resumed run equals an uninterrupted one."""
    emotion120 = tmp_path / "emotion120.txt"
    emotion120.write_text("\n".join(EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:120]) + "\n",
                          encoding="utf-8")
    args = ("--method", "finetune", "--folds", "2", "--epochs", "1", "--max-length", "32", "--signals", "all",
            "--seed", "3")
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "run", "--data", str(emotion120), "--out", str(out), *args, "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    _wait_for(out / ".partial" / "finetune-fold-0.npz", proc)
    proc.kill()
    proc.communicate(timeout=60)
    with np.load(out / ".partial" / "finetune-fold-0.npz") as cached:
        assert len(cached["dynamics_row"]) == 60 and set(cached["dynamics_fold"]) == {0}
    resumed = run_cli("run", "--data", emotion120, "--out", out, *args, "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    fresh = run_cli("run", "--data", emotion120, "--out", tmp_path / "fresh", *args, "--quiet")
    assert fresh.returncode == 0, fresh.stderr
    a, b = load_run(out).scores, load_run(tmp_path / "fresh").scores
    assert "confidence_score" in a and (a["cartography_region"] != "").all()  # every row's dynamics came back
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6, atol=1e-9)


def test_the_plans_signals_and_device_leave_the_fingerprint_as_before():
    """`--resume` matches an interrupted run by its fingerprint: recording signals and device in the plan
    (and in run.json) must not change it, so folders interrupted before they were recorded still resume."""
    import dataclasses

    from auditor.backends import Plan, make_plan
    from auditor.config import DataConfig, RunConfig
    from auditor.data import from_frame
    from auditor.provenance import fingerprint

    data = from_frame(easy_dataset(n_per_class=10), DataConfig(source="frame"))
    config = RunConfig(method="tfidf", folds=3)
    plan = make_plan("tfidf", data.texts, 3)
    before = {k: v for k, v in plan.as_dict().items() if k not in ("signals", "device")}  # an older run.json
    assert Plan(**before) == dataclasses.replace(plan, signals=(), device="cpu")
    same = fingerprint(data, config, dataclasses.replace(plan, signals=("loss", "outliers"), device="cuda"))
    assert same == fingerprint(data, config, plan)
    assert sorted(same["parts"]) == ["data", "device", "folds", "method", "model and training options",
                                     "package versions", "seed", "text features", "train data"]
