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
        (["--bogus"], ["unrecognized arguments: --bogus", "see 'auditor run --help'"]),
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
    assert "Suspected label issues" in proc.stdout and "unreliable" not in proc.stdout
    lines = proc.stdout.strip().splitlines()
    assert lines[-2].startswith(f"Wrote {out}/ (scores.csv, scores.parquet, suspects.csv")
    assert lines[-1] == f"Open the report: {(out / 'report.html').resolve().as_uri()}"
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


def test_help_shows_every_default():
    from auditor.backends import resolve_methods
    from auditor.data import LABEL_CANDIDATES, TEXT_CANDIDATES
    from auditor.scoring import DEFAULT_SIGNALS

    proc = run_cli("run", "--help", env={"COLUMNS": "1000"})  # one line per option
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    for fragment in ("k-fold cross-validation that gives out-of-sample probabilities (default: 5)",
                     "training (default: 0)", f"which on this machine is {'+'.join(resolve_methods('auto'))}",
                     f"default: {','.join(s for s in DEFAULT_SIGNALS if s != 'dynamics')}; dynamics are added "
                     "when the method fine-tunes;", "(default: self_confidence)",
                     f"(default: auto-detected, the first of these names that is a column, in any case: "
                     f"{', '.join(TEXT_CANDIDATES)})",
                     f"(default: auto-detected, the first of these names that is another column, in any case: "
                     f"{', '.join(LABEL_CANDIDATES)})",
                     "exact only; default: 0.95)", "console summary (default: 10)",
                     "for finetune (default: the data's 95th percentile, up to the model's limit)",
                     "or head+tail (the first quarter and the last three quarters) (default: head)"):
        assert fragment in text, fragment
    assert "dynamics, plus dynamics" not in text  # the default set names dynamics once, as an addition


@pytest.mark.parametrize(
    "n, classes, accuracy, flagged, method, expected",
    [
        (300, 6, 0.46, 0.38, "tfidf+nb", ["accuracy is only 0.46", "38% of rows", "300 rows for 6 classes",
                                          "more labelled data", "--method finetune+tfidf", "another method"]),
        (16000, 6, 0.89, 0.09, "tfidf+nb", None),
        (180, 3, 0.99, 0.05, "tfidf", None),  # few rows, but the classes are easy to tell apart
        (400, 6, 0.7, 0.12, "finetune", ["400 rows for 6 classes", "more labelled data"]),
        (16000, 6, 0.55, 0.1, "finetune+tfidf", ["accuracy is only 0.55"]),
        (16000, 6, 0.85, 0.3, "tfidf", ["30% of rows are flagged"]),
    ],
)
def test_reliability_note_says_when_flags_are_unreliable_and_what_helps(n, classes, accuracy, flagged, method,
                                                                      expected):
    from auditor.summary import reliability_note

    note = reliability_note(n, classes, accuracy, flagged, method)
    if expected is None:
        assert note is None
        return
    assert note.startswith("The flags are unreliable here")
    for fragment in expected:
        assert fragment in note, fragment
    assert ("--method finetune+tfidf" in note) == ("finetune" not in method)


def test_a_small_low_accuracy_run_warns_in_console_and_report(tmp_path, emotion_slice):
    small = tmp_path / "small.txt"
    small.write_text("".join(emotion_slice.read_text(encoding="utf-8").splitlines(True)[:300]), encoding="utf-8")
    out = tmp_path / "run"
    proc = run_cli("run", "--data", small, "--method", "tfidf", "--folds", "3", "--out", out, "--quiet", "--top", "0")
    assert proc.returncode == 0, proc.stderr
    assert "Warning: The flags are unreliable here" in proc.stdout
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="reliability"' in html and "What would help" in html
