"""The bad-input corpus (tests/data/bad/): every file either audits correctly or fails with one clear line.

Each case runs the CLI's main() in-process (a subprocess spends seconds importing; a few representative
cases still run as real subprocesses). A failure must exit 2 with exactly one stderr line
`auditor: error: ...` naming the file and the row, column or value, with no traceback, no output
folder and the input untouched. A success must audit every row and keep its text.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

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
    # Label lists are a multi-label audit unless --task says otherwise; either way this file is refused.
    ("multi_label.jsonl", (*FAST, "--task", "single-label"), ["row 1", "column 'label'", "holds a list", "one label"]),
    ("multi_label.jsonl", FAST, ["multi_label.jsonl", "3 rows", "2-fold audit needs at least 4"]),
    ("no_separator.txt", FAST, ["line 1", "no ';'", "'the match was great'"]),
    ("nested_text.parquet", FAST, ["row 1", "column 'text'", "holds a dict"]),
    ("duplicate_ids.csv", (*FAST, "--id-column", "id"), ["row 3", "'a1'", "column 'id'", "repeats"]),
    ("small.csv", ("--pred-probs", BAD / "probs_wrong_shape.npy"), ["probs_wrong_shape.npy", "(12, 1)", "(12, 2)"]),
    ("small.csv", ("--pred-probs", BAD / "probs_transposed.npy"), ["probs_transposed.npy", "(2, 12)", "(12, 2)"]),
    ("small.csv", ("--pred-probs", BAD / "probs_nan.npy"), ["probs_nan.npy", "row 5", "nan"]),
    ("small.csv", ("--pred-probs", BAD / "probs_not_summing.npy"), ["probs_not_summing.npy", "row 8", "0.7"]),
    ("small.csv", ("--pred-probs", BAD / "probs_not_numpy.npy"), ["probs_not_numpy.npy", "cannot be read"]),
    ("small.csv", ("--pred-probs", BAD / "missing.npy"), ["missing.npy", "no such file"]),
    # Multi-label --pred-probs (multi_label.jsonl: labels food, sport): one probability per label.
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_wrong_shape.npy"),
     ["ml_probs_wrong_shape.npy", "(3, 3)", "(3, 2)", "one column per label"]),
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_nan.npy"),
     ["ml_probs_nan.npy", "row 2, column 1 (label 'food')", "holds nan", "[0, 1]"]),
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_above_one.npy"),
     ["ml_probs_above_one.npy", "row 3, column 2 (label 'sport')", "holds 1.7", "[0, 1]"]),
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_unknown_column.csv"),
     ["ml_probs_unknown_column.csv", "column 'sports' is no label", "(food, sport)"]),
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_missing_column.csv"),
     ["ml_probs_missing_column.csv", "no column for label 'sport'"]),
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_text_cell.csv"),
     ["ml_probs_text_cell.csv", "row 2, column 'sport' holds 'high'", "[0, 1]"]),
    ("multi_label.jsonl", ("--pred-probs", BAD / "missing.csv"), ["missing.csv", "no such file", "(3, 2)",
                                                                  "one column per label"]),
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
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_good.npy")),  # rows need not sum to 1
    ("multi_label.jsonl", ("--pred-probs", BAD / "ml_probs_good.csv")),  # columns by label name, any order
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
    (["--truncation", "tail"], ["'truncation'", "'tail'", "head+tail"]),
    (["--nope"], ["unrecognized arguments", "--nope"]),
    (["--folds"], ["--folds", "expected one argument"]),
]


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def main_in_process(*args, cwd: Path | None = None):
    """`python -m auditor ARGS` without the subprocess: a CompletedProcess-like (returncode, stdout, stderr)."""
    from auditor.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        os.chdir(previous)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def _run(tmp_path: Path, data: Path, args, subprocess: bool = False) -> tuple:
    before = _sha256(data)
    out = tmp_path / "run"
    runner = run_cli if subprocess else main_in_process
    proc = runner("run", "--data", data, "--out", out, "--top", "3", *args, cwd=tmp_path)
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


# --------------------------------------------------------------------------- issue 18: the hostile corpus

ID = ("--id-column", "id")
HOSTILE_FAILURES = [
    ("nul_late.csv", FAST, ["nul_late.csv", "line 11", "NUL byte"]),
    ("cr_unquoted.csv", FAST, ["cr_unquoted.csv", "row 1", "no label"]),
    ("nul_escape.jsonl", FAST, ["row 5", "column 'text'", "NUL character"]),
    ("nul_label.jsonl", FAST, ["row 3", "column 'label'", "NUL character"]),
    ("ids_str_and_int.jsonl", (*FAST, *ID), ["row 2", "repeats", "compared as text"]),
    ("ids_huge.jsonl", (*FAST, *ID), ["row 1", "9223372036854775808", "64-bit"]),
    ("ids_bool.jsonl", (*FAST, *ID), ["row 3", "'id'", "repeats"]),
    ("ids_list.jsonl", (*FAST, *ID), ["row 1", "holds a list", "expected an id"]),
    ("ids_missing.csv", (*FAST, *ID), ["row 3", "no id"]),
    ("json_scalar.json", FAST, ["json_scalar.json", "holds a JSON int"]),
    ("jsonl_array_line.jsonl", FAST, ["line 2", "expected an object"]),
]


@pytest.mark.parametrize("name, args, fragments", HOSTILE_FAILURES, ids=[c[0] for c in HOSTILE_FAILURES])
def test_hostile_file_is_refused_with_one_line(tmp_path, name, args, fragments):
    proc, out = _run(tmp_path, BAD / name, args)
    assert_one_line_error(proc, *fragments)
    _assert_nothing_written(tmp_path, out)


SAME_NUMBER = ["0", "1", "01", "1.0", "1e1", " 7", "7", "+3", "0x10", "inf", "-0", "00"]
# file, extra arguments, expected ids (None: row positions), expected classes (None: any), a warning fragment
HOSTILE_SUCCESSES = [
    ("cr_formula.csv", FAST, None, ["food", "sport"], None),
    ("ids_same_number.csv", (*FAST, *ID), SAME_NUMBER, None, None),
    ("ids_whitespace.csv", (*FAST, *ID), [" 7", "7", "7 ", "a", " a", "a "] + [f"r{i}" for i in range(6)], None, None),
    ("ids_negative.csv", (*FAST, *ID), list(range(-6, 6)), None, None),
    ("ids_big.jsonl", (*FAST, *ID), [2**53 + i for i in range(12)], None, None),
    ("ids_inf.jsonl", (*FAST, *ID), ["inf", "-inf", "1.5", "2.5", "3.5", "4.5", *"abcdef"], None, None),
    ("line_separators.txt", FAST, None, ["food", "sport"], None),
    ("u2028.jsonl", FAST, None, ["food", "sport"], None),
    ("crlf_lines.txt", FAST, None, ["food", "sport"], None),
    ("bom_blank_lines.jsonl", FAST, None, ["food", "sport"], None),
    ("apostrophe_classes.csv", FAST, None, ["'-neg", "-neg"], None),
    ("formula_labels.csv", FAST, None, ["=SUM(A1)", "@food"], None),
    ("label_spellings.csv", FAST, None, ["1", "2"], "labels '1', '01' are read as one class '1'"),
    ("label_bool.jsonl", FAST, None, ["False", "True"], "labels True, 'True' are read as one class 'True'"),
    ("label_case.csv", FAST, None, ["Sport", "food", "sport"], "classes 'Sport', 'sport' differ only in case"),
    ("json_array.json", FAST, None, ["food", "sport"], None),
    ("json_columns.json", FAST, None, ["food", "sport"], None),
]


@pytest.mark.parametrize("name, args, ids, classes, warning", HOSTILE_SUCCESSES, ids=[c[0] for c in HOSTILE_SUCCESSES])
def test_hostile_file_is_audited_exactly(tmp_path, name, args, ids, classes, warning):
    proc, out = _run(tmp_path, BAD / name, args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    scores = pd.read_parquet(out / "scores.parquet")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 12 == len(scores), "one line or record is one example: no split, no merge"
    assert scores["id"].tolist() == (ids if ids is not None else list(range(12)))
    if classes is not None:
        assert metrics["classes"] == classes
    expected = _expected_texts(BAD / name)
    if expected is not None:
        assert scores["text"].tolist() == expected
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("auditor: warning:")]
    assert bool(warnings) == bool(warning), warnings
    if warning:
        assert len(warnings) == 1 and warning in warnings[0], warnings


def test_texts_keep_their_unicode_line_separators(tmp_path):
    """Fault 3: U+2028, U+0085, form feeds or a lone CR inside a text made one line two examples."""
    proc, out = _run(tmp_path, BAD / "line_separators.txt", FAST)
    texts = pd.read_parquet(out / "scores.parquet")["text"].tolist()
    assert texts[0] == "the match was great\u2028more" and texts[5] == "the team won the match\rmore"
    proc, out2 = _run(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path, BAD / "crlf_lines.txt", FAST)
    assert not any("\r" in t for t in pd.read_parquet(out2 / "scores.parquet")["text"])


def test_quiet_silences_data_warnings(tmp_path):
    proc, out = _run(tmp_path, BAD / "label_spellings.csv", (*FAST, "--quiet"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_apply_without_corrections_gives_back_every_accepted_file_byte_for_byte():
    """Fault 4 over the corpus: each CSV, TSV, JSON Lines and `text;label` file the loader accepts (BOMs, CRLF,
    quoted newlines, lone CRs, formula-like cells, Unicode) comes back from apply's writer unchanged."""
    import warnings

    from auditor.annotate.apply import cleaned_copy
    from auditor.config import DataConfig
    from auditor.data import load_data
    from auditor.errors import DataError

    accepted = []
    for path in sorted(BAD.glob("*")):
        if path.suffix not in (".csv", ".tsv", ".jsonl", ".txt"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = load_data(DataConfig(source=str(path)))
        except DataError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert cleaned_copy(data) == path.read_bytes(), path.name
        accepted.append(path.name)
    assert {"bom.csv", "crlf.csv", "embedded_newlines_quotes.csv", "cr_formula.csv",
            "unicode_text.csv", "crlf_lines.txt", "bom_blank_lines.jsonl"} <= set(accepted), accepted


def _run_in_a_terminal(*args, cwd: Path, timeout: float = 300) -> tuple[int, str, str]:
    """`python -m auditor ARGS` in a subprocess whose stdout and stderr are terminals (two ptys): progress
    bars only show on a terminal. Returns (exit code, stdout, stderr)."""
    import pty
    import select
    import sys
    import time

    from conftest import ROOT

    masters, slaves = zip(*(pty.openpty() for _ in range(2)))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", PYTHONWARNINGS="always", TERM="xterm")
    proc = subprocess.Popen([sys.executable, "-m", "auditor", *map(str, args)], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=slaves[0], stderr=slaves[1])
    for fd in slaves:
        os.close(fd)
    buffers, reading, deadline = {fd: b"" for fd in masters}, set(masters), time.monotonic() + timeout
    try:
        while reading and time.monotonic() < deadline:
            for fd in select.select(sorted(reading), [], [], 1)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the process closed its end
                    chunk = b""
                buffers[fd] += chunk
                if not chunk:
                    reading.discard(fd)
        code = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        proc.kill()
        for fd in masters:
            os.close(fd)
    texts = [buffers[fd].decode("utf-8", "replace") for fd in masters]
    return code, texts[0], texts[1]


def test_quiet_in_a_terminal_shows_no_progress_bars_or_warnings(tmp_path):
    """Fault 12 in a real process on a terminal (where bars would show), with every library warning turned
    on (PYTHONWARNINGS=always) and data that warns (labels '1' and '01'): --quiet leaves stderr empty and
    stdout the summary only."""
    code, out, err = _run_in_a_terminal("run", "--data", BAD / "label_spellings.csv", "--out", tmp_path / "run",
                                        *FAST, "--quiet", cwd=tmp_path)
    assert code == 0, err
    assert err == "", err
    lines = out.replace("\r\n", "\n").split("\n")
    assert lines[0].startswith("Audited 12 examples") and not any("\r" in line for line in lines), out
    assert not any(mark in out for mark in ("it/s", "s/it", "%|", "\x1b[")), out  # tqdm's and ANSI escapes


def test_a_directory_as_data_is_one_line(tmp_path):
    (tmp_path / "folder").mkdir()
    proc = main_in_process("run", "--data", tmp_path / "folder", "--out", tmp_path / "o", *FAST, cwd=tmp_path)
    assert_one_line_error(proc, "folder", "is a folder without data files")


# ---------------------------------------------------------------------------------- --out and arguments

@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    proc = main_in_process("run", "--data", BAD / "small.csv", "--out", folder / "run", *FAST, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


def _undecodable(name: str) -> str:
    return os.fsdecode(b"\xff\xfe" + name.encode())


def test_out_and_data_mistakes_are_one_line(tmp_path):
    """Fault 11: each of these was an internal error (exit 1) or a traceback."""
    (tmp_path / "afile").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "afile")
    project = tmp_path / "project"
    project.mkdir()
    (project / "run.json").write_text('{"name": "x"}')
    (project / "notes.txt").write_text("keep me")
    cases = [
        (["--out", tmp_path / "afile" / "sub"], "is a file, not a folder"),
        (["--out", "/proc/auditor-x"], "cannot create"),
        (["--out", tmp_path / _undecodable("out")], "not UTF-8"),
        (["--data", tmp_path / _undecodable("d.csv")], "not UTF-8"),
        (["--out", link, "--overwrite"], "symbolic link"),
        (["--out", project, "--overwrite"], "not a run folder"),
        (["--out", project], "already exists"),
        (["--out", tmp_path / "empty", "--resume"], "does not exist"),
    ]
    for extra, fragment in cases:
        args = ["run", "--data", BAD / "small.csv", *FAST, "--out", tmp_path / "o", *extra]
        assert_one_line_error(main_in_process(*args, cwd=tmp_path), fragment)
    assert (project / "notes.txt").read_text() == "keep me" and (project / "run.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "link", "project"]


def test_overwrite_keeps_files_the_tool_did_not_write(good_run, tmp_path):
    """Fault 7: --overwrite deleted any folder holding a run.json, notes and all."""
    run = tmp_path / "run"
    shutil_copy(good_run, run)
    (run / "notes.txt").write_text("mine")
    proc = main_in_process("run", "--data", BAD / "small.csv", *FAST, "--out", run, "--overwrite", cwd=tmp_path)
    assert_one_line_error(proc, "holds files auditor did not write (notes.txt)")
    assert (run / "notes.txt").read_text() == "mine"
    (run / "notes.txt").unlink()
    proc = main_in_process("run", "--data", BAD / "small.csv", *FAST, "--out", run, "--overwrite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("flags", [(), ("--overwrite",)], ids=["plain", "overwrite"])
def test_an_empty_folder_is_a_valid_out(tmp_path, flags):
    """Fault 5: --overwrite on an empty folder trained, then failed and left .partial/ behind."""
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = main_in_process("run", "--data", BAD / "small.csv", *FAST, "--out", empty, *flags, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (empty / "scores.csv").is_file() and not (empty / ".partial").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]


def test_out_dot_inside_a_run_folder_is_refused_before_training(good_run, tmp_path):
    """Fault 8: `--out .` from inside a run folder trained, then failed, leaving a hidden complete run."""
    run = tmp_path / "run"
    shutil_copy(good_run, run)
    before = sorted(p.name for p in run.iterdir())
    proc = main_in_process("run", "--data", BAD / "small.csv", *FAST, "--out", ".", "--overwrite", cwd=run)
    line = assert_one_line_error(proc, "--out .", "current folder")
    assert "rows, 2 classes" not in proc.stderr, line  # refused before any training
    assert sorted(p.name for p in run.iterdir()) == before and sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def shutil_copy(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst)


def _damage(run: Path, how: str) -> None:
    import numpy as np

    if how == "metrics not JSON":
        (run / "metrics.json").write_text("{not json")
    elif how == "metrics a list":
        (run / "metrics.json").write_text("[1, 2]")
    elif how == "no classes":
        metrics = json.loads((run / "metrics.json").read_text())
        del metrics["classes"]
        (run / "metrics.json").write_text(json.dumps(metrics))
    elif how == "classes a string":
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**metrics, "classes": "food,sport"}))
    elif how == "run.json a list":
        (run / "run.json").write_text("[]")
    elif how == "run.json not JSON":
        (run / "run.json").write_text("\x00\x01")
    elif how == "parquet unreadable":
        (run / "scores.parquet").write_bytes(b"PAR1 not really")
    elif how == "no rank":
        pd.read_parquet(run / "scores.parquet").drop(columns="rank").to_parquet(run / "scores.parquet")
    elif how == "csv unreadable":
        (run / "scores.parquet").unlink()
        (run / "scores.csv").write_bytes(b'id,text\n1,"unbalanced\n')
    elif how == "no scores":
        (run / "scores.csv").unlink()
    elif how == "embeddings unreadable":
        (run / "embeddings.npy").write_bytes(np.arange(3).tobytes())


DAMAGES = ["metrics not JSON", "metrics a list", "no classes", "classes a string", "run.json a list",
           "run.json not JSON", "parquet unreadable", "no rank", "csv unreadable", "no scores", "embeddings unreadable"]


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_run_folder_is_one_line_for_export_report_and_apply(good_run, tmp_path, how):
    run = tmp_path / "run"
    shutil_copy(good_run, run)
    _damage(run, how)
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label\n0,DELETE\n")
    before = {p.name: _sha256(p) for p in run.iterdir()}
    for command in (["export", run], ["report", run], ["apply", run, corrections, "--out", tmp_path / "o"]):
        assert_one_line_error(main_in_process(*command, cwd=tmp_path), "damaged" if how not in (
            "run.json a list", "run.json not JSON", "no scores") else "run")
    assert {p.name: _sha256(p) for p in run.iterdir()} == before
    assert not (tmp_path / "o").exists()


def test_command_out_mistakes_are_one_line(good_run, tmp_path):
    (tmp_path / "afile").write_text("x")
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label\n0,DELETE\n")
    for args, fragment in [
        (["export", good_run, "--out", "/nonexistent/x.csv"], "does not exist"),
        (["report", good_run, "--out", "/nonexistent/x.html"], "does not exist"),
        (["export", good_run, "--out", tmp_path], "is a folder"),
        (["report", good_run, "--out", tmp_path], "is a folder"),
        (["apply", good_run, corrections, "--out", tmp_path / "afile"], "is a file"),
        (["export", good_run, "--out", tmp_path / "afile" / "x.csv"], "is not a folder"),
        (["apply", good_run, tmp_path / "absent.csv", "--out", tmp_path / "o"], "no such file"),
        (["export", tmp_path / "nowhere"], "no such run folder"),
    ]:
        assert_one_line_error(main_in_process(*args, cwd=tmp_path), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "c.csv"]


# ------------------------------------------------------------------------------ real subprocesses

@pytest.mark.parametrize("name, args, fragments", [FAILURES[11], HOSTILE_FAILURES[0]], ids=["non_utf8", "nul_late"])
def test_refusal_in_a_real_subprocess(tmp_path, name, args, fragments):
    proc, out = _run(tmp_path, BAD / name, args, subprocess=True)
    assert_one_line_error(proc, *fragments)
    _assert_nothing_written(tmp_path, out)


def test_success_in_a_real_subprocess(tmp_path):
    proc, out = _run(tmp_path, BAD / "cr_formula.csv", FAST, subprocess=True)
    _assert_audited(proc, out, BAD / "cr_formula.csv")


@pytest.mark.parametrize("signum, delay", [(2, 0.3), (2, 1.0), (15, 0.6)], ids=["int-early", "int-later", "term"])
def test_interrupt_while_starting_is_one_line(tmp_path, signum, delay):
    """Fault 10: Ctrl-C while the libraries load printed a 30-50 line traceback; SIGTERM printed nothing."""
    import signal
    import sys
    import time

    from conftest import ROOT

    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "run", "--data", BAD / "small.csv", *FAST,
                             "--out", tmp_path / "o"], cwd=tmp_path, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, (proc.returncode, err)  # also after scipy.stats' exec (see __main__)
    lines = [line for line in err.splitlines() if line.strip()]
    name = signal.Signals(signum).name
    assert len(lines) == 1 and lines[0].startswith(f"auditor: interrupted ({name})"), err
    assert not (tmp_path / "o").exists()
