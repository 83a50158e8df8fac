"""The command line: bad input and bad options exit 2 with one line; a good run writes the run folder."""

import json

import pandas as pd
import pytest

from conftest import run_cli


def _assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("auditor: error: ")
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _csv(tmp_path, frame, name="d.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "frame, args, fragments",
    [
        (None, ["--data", "nope/missing.csv"], ["nope/missing.csv", "no such file"]),
        (pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}), ["--label-column", "target"],
         ["column 'target' not found", "['text', 'label']"]),
        (pd.DataFrame({"text": ["a", None, "c"], "label": ["x", "y", "x"]}), [], ["row 2", "'text'", "empty"]),
        (pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", None, "x"]}), [], ["row 2", "no label"]),
        (pd.DataFrame({"text": ["a", "b"], "label": ["x", "x"]}), [], ["single class", "'x'"]),
        (pd.DataFrame({"text": list("abcdefg"), "label": list("xxxxxxy")}), ["--folds", "5"],
         ["class 'y' has 1 example", "--folds 5"]),
    ],
)
def test_bad_data_exits_2_with_one_line_and_no_output(tmp_path, frame, args, fragments):
    data_args = ["--data", str(_csv(tmp_path, frame))] if frame is not None else []
    out = tmp_path / "run"
    proc = run_cli("run", *data_args, *args, "--method", "tfidf", "--out", out)
    _assert_one_line_error(proc, *fragments)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] in (["d.csv"], [])


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    _assert_one_line_error(run_cli("run", "--data", path), "empty.csv", "empty")


def test_non_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"text,label\nok,a\ncaf\xe9,b\n")
    _assert_one_line_error(run_cli("run", "--data", path), "latin.csv", "line 3", "UTF-8")


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--folds", "1"], ["'folds'", ">= 2", "Got 1"]),
        (["--folds", "two"], ["'folds'", "'two'"]),
        (["--method", "magic"], ["'method'", "'magic'", "tfidf"]),
        (["--score-method", "vibes"], ["'score-method'", "'vibes'"]),
        (["--epochs", "0"], ["'epochs'"]),
        (["--bogus"], ["--bogus"]),
    ],
)
def test_bad_options_exit_2(args, fragments):
    _assert_one_line_error(run_cli("run", *args), *fragments)


def test_debug_shows_the_original_error_behind_the_one_line():
    proc = run_cli("run", "--folds", "two", env={"AUDITOR_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    # `raise ... from None` hid it; in debug mode it is shown.
    assert "ValueError: invalid literal for int()" in proc.stderr and "AuditorError" in proc.stderr


def test_hub_id_offline_fails_cleanly(tmp_path):
    proc = run_cli("run", "--data", "someone/no-such-dataset", "--out", tmp_path / "r")
    _assert_one_line_error(proc, "someone/no-such-dataset")


def test_existing_out_folder_is_not_overwritten(tmp_path, easy_csv):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = run_cli("run", "--data", easy_csv[0], "--method", "tfidf", "--out", out)
    _assert_one_line_error(proc, "already exists", "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"


def test_run_writes_the_run_folder(tmp_path, easy_csv):
    path, flipped = easy_csv
    before = path.read_bytes()
    out = tmp_path / "run"
    proc = run_cli("run", "--data", path, "--method", "tfidf", "--folds", "3", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Suspected label issues" in proc.stdout
    assert proc.stderr == ""  # --quiet: only the final summary, on stdout
    for name in ("scores.csv", "scores.parquet", "metrics.json", "run.json", "suspects.csv"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["folds"] == 3 and run["complete"] is True
    assert "--folds 3" in run["command"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 180 and metrics["accuracy"] > 0.9
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]  # no temporary folder left
