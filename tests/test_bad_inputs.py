"""The bad-input corpus (tests/data/bad/): every file either audits correctly or fails with one clear line.

Each case runs the CLI in a subprocess. A failure must exit 2 with exactly one stderr line
`auditor: error: ...` naming the file and the row, column or value, with no traceback, no output
folder and the input untouched. A success must audit every row and keep its text.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli

BAD = Path(__file__).resolve().parent / "data" / "bad"
FAST = ("--method", "tfidf", "--folds", "2")

# file, extra arguments, fragments the one error line must contain
FAILURES = [
    ("empty.csv", FAST, ["empty.csv", "empty"]),
    ("header_only.csv", FAST, ["header_only.csv", "empty"]),
    ("missing_label_column.csv", FAST, ["no label column", "['text', 'comment']", "--label-column"]),
    ("text_all_null.csv", FAST, ["column 'text'", "all 4 rows", "--text-column"]),
    ("some_null_labels.csv", FAST, ["row 3", "column 'label'", "no label"]),
    ("one_class.csv", FAST, ["column 'label'", "single class", "'sport'"]),
    ("class_with_one_example.csv", FAST, ["class 'tech'", "1 example", "--folds 2"]),
    ("mixed_labels.jsonl", FAST, ["row 3", "column 'label'", "mixes integer and text", "'sport'"]),
    ("float_labels.csv", FAST, ["row 1", "column 'label'", "0.5", "regression"]),
    ("unbalanced_quotes.csv", FAST, ["cannot be read as CSV", "EOF inside string", "row 2"]),
    ("ragged_rows.csv", FAST, ["cannot be read as CSV", "line 3", "saw 3"]),
    ("non_utf8.csv", FAST, ["line 8", "byte 0xe9", "UTF-8"]),
    ("binary.csv", FAST, ["binary file", "UTF-8"]),
    ("broken.jsonl", FAST, ["line 2", "column 45", "invalid JSON"]),
    ("lone_surrogate.jsonl", FAST, ["line 2", "invalid Unicode", "\\ud83c"]),
    ("multi_label.jsonl", FAST, ["row 1", "column 'label'", "holds a list", "one label"]),
    ("no_separator.txt", FAST, ["line 1", "no ';'", "'the match was great'"]),
    ("nested_text.parquet", FAST, ["row 1", "column 'text'", "holds a dict"]),
    ("duplicate_ids.csv", (*FAST, "--id-column", "id"), ["row 3", "'a1'", "column 'id'", "repeats"]),
    ("small.csv", ("--pred-probs", BAD / "probs_wrong_shape.npy"), ["probs_wrong_shape.npy", "(12, 1)", "(12, 2)"]),
    ("small.csv", ("--pred-probs", BAD / "probs_transposed.npy"), ["probs_transposed.npy", "(2, 12)", "(12, 2)"]),
    ("small.csv", ("--pred-probs", BAD / "probs_nan.npy"), ["probs_nan.npy", "row 5", "nan"]),
    ("small.csv", ("--pred-probs", BAD / "probs_not_summing.npy"), ["probs_not_summing.npy", "row 8", "0.7"]),
    ("small.csv", ("--pred-probs", BAD / "probs_not_numpy.npy"), ["probs_not_numpy.npy", "cannot be read"]),
    ("small.csv", ("--pred-probs", BAD / "missing.npy"), ["missing.npy", "no such file"]),
]

SUCCESSES = [
    ("small.csv", FAST),
    ("embedded_newlines_quotes.csv", FAST),
    ("unicode_text.csv", FAST),
    ("bom.csv", FAST),
    ("crlf.csv", FAST),
    ("integral_float_labels.csv", FAST),
    ("mixed_labels.csv", FAST),
    ("nested_extra.parquet", FAST),
    ("small.csv", ("--pred-probs", BAD / "probs_good.npy")),
]

BAD_OPTIONS = [
    (["--folds", "1"], ["'folds'", ">= 2", "Got 1"]),
    (["--folds", "abc"], ["'folds'", "'abc'"]),
    (["--method", "nope"], ["'method'", "'nope'", "tfidf"]),
    (["--score-method", "x"], ["'score-method'", "'x'", "self_confidence"]),
    (["--top", "-1"], ["'top'", ">= 0", "Got -1"]),
    (["--seed", "-1"], ["'seed'", "Got -1"]),
    (["--seed", str(2**40)], ["'seed'", "<= 4294967295"]),
    (["--epochs", "inf"], ["'epochs'", "inf"]),
    (["--learning-rate", "nan"], ["'learning-rate'", "nan"]),
    (["--nope"], ["unrecognized arguments", "--nope"]),
    (["--folds"], ["--folds", "expected one argument"]),
]


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _run(tmp_path: Path, data: Path, args) -> tuple:
    before = _sha256(data)
    out = tmp_path / "run"
    proc = run_cli("run", "--data", data, "--out", out, "--top", "3", *args, cwd=tmp_path)
    assert _sha256(data) == before, "the input file changed"
    return proc, out


def assert_one_line_error(proc, *fragments) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("auditor: error: "), lines[0]
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])
    return lines[0]


def _assert_nothing_written(tmp_path: Path, out: Path) -> None:
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())  # no temporary or default folder either


def _expected_texts(path: Path) -> list[str] | None:
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return [row["text"] for row in csv.DictReader(handle)]
    return None


def _assert_audited(proc, out: Path, data: Path) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    scores = pd.read_parquet(out / "scores.parquet")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert scores["id"].tolist() == list(range(metrics["n"]))
    assert sorted(scores["rank"]) == list(range(1, metrics["n"] + 1))
    expected = _expected_texts(data)
    if expected is not None:
        assert scores["text"].tolist() == expected  # quotes, newlines and invisible characters survive
    return metrics


@pytest.mark.parametrize("name, args, fragments", FAILURES, ids=[f"{c[0]}-{Path(str(c[1][-1])).name}" for c in FAILURES])
def test_bad_file_is_refused_with_one_line(tmp_path, name, args, fragments):
    proc, out = _run(tmp_path, BAD / name, args)
    assert_one_line_error(proc, *fragments)
    _assert_nothing_written(tmp_path, out)


@pytest.mark.parametrize("name, args", SUCCESSES, ids=[f"{c[0]}-{Path(str(c[1][-1])).name}" for c in SUCCESSES])
def test_awkward_file_is_audited(tmp_path, name, args):
    proc, out = _run(tmp_path, BAD / name, args)
    _assert_audited(proc, out, BAD / name)


def test_integral_float_labels_become_integer_classes(tmp_path):
    proc, out = _run(tmp_path, BAD / "integral_float_labels.csv", FAST)
    assert _assert_audited(proc, out, BAD / "integral_float_labels.csv")["classes"] == ["1", "2"]


def test_five_megabyte_text_is_truncated_and_counted(tmp_path):
    data = tmp_path / "input" / "long_text.csv"
    data.parent.mkdir()
    frame = pd.read_csv(BAD / "small.csv")
    frame.loc[len(frame)] = ["goal " * 1_000_000, "sport"]  # one 5 MB text
    frame.to_csv(data, index=False)
    proc, out = _run(tmp_path, data, FAST)
    metrics = _assert_audited_rows(proc, out, 13)
    assert metrics["truncated_texts"] == 1
    assert "Truncated 1 text(s) longer than 100,000 characters" in proc.stdout
    scores = pd.read_parquet(out / "scores.parquet")
    assert len(scores["text"].iat[12]) == metrics["max_text_chars"]


def _assert_audited_rows(proc, out, n):
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n"] == n
    return metrics


def test_ten_thousand_distinct_labels_are_refused(tmp_path):
    data = tmp_path / "input" / "many_labels.csv"
    data.parent.mkdir()
    pd.DataFrame({"text": [f"text {i}" for i in range(10_000)], "label": [f"c{i}" for i in range(10_000)]}).to_csv(
        data, index=False
    )
    proc, out = _run(tmp_path, data, FAST)
    assert_one_line_error(proc, "many_labels.csv", "column 'label'", "10000 distinct labels", "at most 1000")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["input"]


@pytest.mark.parametrize("args, fragments", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_option_is_refused_with_one_line(tmp_path, args, fragments):
    proc, out = _run(tmp_path, BAD / "small.csv", ["--method", "tfidf", *args])
    assert_one_line_error(proc, *fragments)
    _assert_nothing_written(tmp_path, out)
