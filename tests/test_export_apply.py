"""The annotators' CSV round trip: export suspects, edit them as an annotator would, apply, check the output."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import easy_dataset, plant_flips, run_cli
from report_helpers import build_run

from auditor.annotate.export import SUSPECT_COLUMNS

FORMULA_TEXTS = ["=1+1 pizza oven", "+cmd|' /C calc'!A0 football", "-2 laptop cloud", "@SUM(A1) bread"]


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """An easy CSV with string ids (two formula-like), a formula-like class name, formula-like texts and
    9 planted flips; returns (run folder, input path, clean labels by key, flipped keys)."""
    clean = easy_dataset()
    clean["label"] = clean["label"].replace({"food": "@food"})
    noisy, flipped = plant_flips(clean, 9)
    keys = [f"r{i:03d}" for i in range(len(noisy))]
    keys[flipped[0]], keys[flipped[1]] = "-r_minus", "=r_equals"
    noisy.insert(0, "key", keys)
    others = [i for i in range(len(noisy)) if i not in set(flipped)]
    for row, text in zip(others, FORMULA_TEXTS):
        noisy.at[row, "text"] = text
    folder = tmp_path_factory.mktemp("apply")
    path = folder / "input.csv"
    noisy.to_csv(path, index=False)
    run_dir = build_run(path, folder / "run", data={"id_column": "key"})
    truth = dict(zip(keys, clean["label"]))
    return run_dir, path, truth, [keys[i] for i in flipped]


def _read_like_a_spreadsheet(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _write_like_a_spreadsheet(rows: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def in_process(*args):
    """main() in-process (a subprocess spends seconds importing): a CompletedProcess-like result."""
    from types import SimpleNamespace

    code, out, err = cli(*args)
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_writes_ranked_spreadsheet_safe_csv(audited, tmp_path):
    run_dir, _, _, _ = audited
    out = tmp_path / "top.csv"
    done = in_process("export", run_dir, "--top", 30, "--out", out)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = _read_like_a_spreadsheet(out)
    assert list(rows[0]) == SUSPECT_COLUMNS and len(rows) == 30
    scores = pd.read_parquet(run_dir / "scores.parquet").sort_values("rank")
    expected = [k if k[0] not in "=-" else "'" + k for k in scores["id"].astype(str).head(30)]
    assert [r["id"] for r in rows] == expected
    assert all(r["corrected_label"] == "" and r["note"] == "" for r in rows)
    cells = [r[c] for r in rows for c in ("id", "text", "given_label", "suggested_label", "reasons")]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'@food" in {r["given_label"] for r in rows} | {r["suggested_label"] for r in rows}


def test_export_rewrites_suspects_csv_with_flagged_rows_by_default(audited, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(audited[0], run_dir)
    done = in_process("export", run_dir, "--top", 5)
    assert done.returncode == 0 and len(_read_like_a_spreadsheet(run_dir / "suspects.csv")) == 5
    done = in_process("export", run_dir)
    flagged = json.loads((run_dir / "metrics.json").read_text())["label_issues"]
    assert done.returncode == 0 and len(_read_like_a_spreadsheet(run_dir / "suspects.csv")) == flagged
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]


def test_annotator_round_trip(audited, tmp_path):
    run_dir, data_path, truth, flipped = audited
    before = _digest(data_path)
    sheet = tmp_path / "for_annotators.csv"
    assert run_cli("export", run_dir, "--top", 30, "--out", sheet).returncode == 0
    rows = _read_like_a_spreadsheet(sheet)
    key = {id(r): r["id"][1:] if r["id"].startswith("'") else r["id"] for r in rows}
    assert set(flipped) <= set(key.values()), "the easy flips must all be among the top 30"
    # The annotator re-orders, corrects the flips (one in the apostrophe form the CSV showed), deletes two,
    # leaves one blank, confirms one unchanged label, and never gets to the last row.
    rows = rows[::-1]
    corrected, apostrophe = {}, False
    for r in rows:
        if key[id(r)] in flipped:
            label = truth[key[id(r)]]
            r["corrected_label"] = "'" + label if label.startswith("@") and not apostrophe else label
            apostrophe = apostrophe or label.startswith("@")
            r["note"] = "fixed"
            corrected[key[id(r)]] = label
    assert apostrophe, "one correction must use the neutralised '@food form"
    others = [r for r in rows if key[id(r)] not in flipped]
    others[0]["corrected_label"] = "DELETE"
    others[1]["corrected_label"] = " delete "
    others[2]["corrected_label"] = ""
    others[3]["corrected_label"] = others[3]["given_label"]
    deleted = [key[id(others[0])], key[id(others[1])]]
    kept = [key[id(others[2])], key[id(others[3])]]
    rows.remove(others[-1])
    corrections = tmp_path / "annotated.csv"
    _write_like_a_spreadsheet(rows, corrections)

    out = tmp_path / "cleaned"
    done = run_cli("apply", run_dir, corrections, "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"{len(flipped)} relabelled, 2 deleted, {len(rows) - len(flipped) - 2} kept" in done.stdout
    assert _digest(data_path) == before, "the original data file must never change"
    assert sorted(p.name for p in out.iterdir()) == ["changes.csv", "cleaned.csv"]

    original = pd.read_csv(data_path, dtype=str, keep_default_na=False)
    cleaned = pd.read_csv(out / "cleaned.csv", dtype=str, keep_default_na=False)
    assert list(cleaned.columns) == list(original.columns)
    assert len(cleaned) == len(original) - 2 and not set(deleted) & set(cleaned["key"])
    labels = dict(zip(cleaned["key"], cleaned["label"]))
    assert {k: labels[k] for k in flipped} == {k: truth[k] for k in flipped}
    untouched = original[~original["key"].isin(deleted + flipped)].reset_index(drop=True)
    assert cleaned[cleaned["key"].isin(untouched["key"])].reset_index(drop=True).equals(untouched)

    changes = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(changes.columns) == ["id", "old_label", "new_label", "change", "note"]
    changes["id"] = changes["id"].str.lstrip("'")
    gone = changes[changes["change"] == "deleted"]
    assert sorted(gone["id"]) == sorted(deleted) and (gone["new_label"] == "").all()
    relabelled = changes[changes["change"] == "relabelled"]
    assert dict(zip(relabelled["id"], relabelled["new_label"].str.lstrip("'"))) == corrected
    assert (relabelled["note"] == "fixed").all()  # the annotators' notes are kept
    assert not set(kept) & set(changes["id"])


def _bad_files(rows: list[dict], folder: Path) -> dict[str, tuple[Path, str]]:
    def write(name, table):
        path = folder / name
        _write_like_a_spreadsheet(table, path)
        return path

    unknown_id = [dict(r) for r in rows[:3]]
    unknown_id[1]["id"] = "no-such-id"
    unknown_label = [dict(r) for r in rows[:3]]
    unknown_label[2]["corrected_label"] = "happy"
    duplicate = [dict(r) for r in rows[:3]] + [dict(rows[0])]
    empty_id = [dict(r) for r in rows[:3]]
    empty_id[0]["id"] = ""
    missing_column = [{k: v for k, v in r.items() if k != "corrected_label"} for r in rows[:3]]
    latin1 = folder / "latin1.csv"
    latin1.write_bytes("id,corrected_label\nr001,caf\xe9\n".encode("latin-1"))
    binary = folder / "binary.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    return {
        "unknown id": (write("unknown_id.csv", unknown_id), "row 3: id 'no-such-id' is not in the run"),
        "unknown label": (write("unknown_label.csv", unknown_label), "row 4: corrected_label 'happy' is not a class"),
        "duplicate id": (write("duplicate.csv", duplicate), "row 5: id"),
        "empty id": (write("empty_id.csv", empty_id), "row 2: the id is empty"),
        "missing column": (write("missing.csv", missing_column), "column 'corrected_label' not found"),
        "not UTF-8": (latin1, "line 2: byte 0xe9 is not valid UTF-8"),
        "binary": (binary, "looks like a binary file"),
        "missing file": (folder / "absent.csv", "no such file"),
    }


@pytest.mark.parametrize("case", ["unknown id", "unknown label", "duplicate id", "empty id", "missing column",
                                  "not UTF-8", "binary", "missing file"])
def test_bad_corrections_file_exits_2_with_one_line_and_writes_nothing(audited, tmp_path, case):
    run_dir = audited[0]
    rows = _read_like_a_spreadsheet(run_dir / "suspects.csv")
    for r, label in zip(rows, ["tech", "", "DELETE"]):
        r["corrected_label"] = label
    path, message = _bad_files(rows, tmp_path)[case]
    out = tmp_path / "out"
    done = in_process("apply", run_dir, path, "--out", out)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditor: error: ") and "Traceback" not in done.stderr
    assert message in lines[0] and str(path) in lines[0]
    assert not out.exists()


def test_duplicate_id_message_names_both_rows(audited, tmp_path):
    run_dir = audited[0]
    rows = _read_like_a_spreadsheet(run_dir / "suspects.csv")[:2]
    path = tmp_path / "dup.csv"
    _write_like_a_spreadsheet(rows + [dict(rows[1])], path)
    done = in_process("apply", run_dir, path, "--out", tmp_path / "out")
    assert done.returncode == 2 and "row 4: id" in done.stderr and "(first at row 3)" in done.stderr


def test_apply_does_not_overwrite_without_flag(audited, tmp_path):
    run_dir = audited[0]
    rows = _read_like_a_spreadsheet(run_dir / "suspects.csv")[:1]
    rows[0]["corrected_label"] = "DELETE"
    path = tmp_path / "c.csv"
    _write_like_a_spreadsheet(rows, path)
    assert in_process("apply", run_dir, path, "--out", tmp_path / "o").returncode == 0
    first = _digest(tmp_path / "o" / "cleaned.csv")
    done = in_process("apply", run_dir, path, "--out", tmp_path / "o")
    assert done.returncode == 2 and "already exists" in done.stderr
    assert _digest(tmp_path / "o" / "cleaned.csv") == first
    assert in_process("apply", run_dir, path, "--out", tmp_path / "o", "--overwrite").returncode == 0


def test_apply_refuses_when_the_data_changed_since_the_run(tmp_path):
    frame = easy_dataset(10)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    run_dir = build_run(path, tmp_path / "run")
    frame.iloc[:-1].to_csv(path, index=False)
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label\n0,DELETE\n", encoding="utf-8")
    done = in_process("apply", run_dir, corrections)
    assert done.returncode == 2 and "changed since the run" in done.stderr
    assert not (run_dir / "cleaned.csv").exists() and not (run_dir / "changes.csv").exists()


def test_apply_on_text_label_lines_keeps_the_format(emotion_slice, tmp_path):
    run_dir = build_run(emotion_slice, tmp_path / "run")
    lines = emotion_slice.read_text(encoding="utf-8").splitlines()
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,text,corrected_label,note\n5,whatever,love,\n0,,surprise,x\n7,,DELETE,\n9,,,\n",
                           encoding="utf-8")
    done = in_process("apply", run_dir, corrections)
    assert done.returncode == 0, done.stderr
    cleaned = (run_dir / "cleaned.txt").read_text(encoding="utf-8").splitlines()
    expected = list(lines)
    expected[0] = expected[0].rsplit(";", 1)[0] + ";surprise"
    expected[5] = expected[5].rsplit(";", 1)[0] + ";love"
    del expected[7]
    assert cleaned == expected
    assert "cleaned.txt holds no ids: a `text;label` line has no room for an id" in done.stdout


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_apply_keeps_integer_labels_and_the_file_format(tmp_path, fmt):
    frame = easy_dataset(15)
    frame["label"] = frame["label"].map({"food": 0, "sport": 1, "tech": 2}).astype("int64")
    frame["extra"] = range(len(frame))
    path = tmp_path / f"d.{fmt}"
    frame.to_parquet(path) if fmt == "parquet" else frame.to_json(path, orient="records", lines=True)
    run_dir = build_run(path, tmp_path / "run")
    first = int(frame["label"].iat[3])
    corrections = tmp_path / "c.csv"
    corrections.write_text(f"id,corrected_label\n3,{(first + 1) % 3}\n4,DELETE\n", encoding="utf-8")
    done = in_process("apply", run_dir, corrections)
    assert done.returncode == 0, done.stderr
    out = run_dir / f"cleaned.{fmt}"
    cleaned = pd.read_parquet(out) if fmt == "parquet" else pd.read_json(out, lines=True)
    assert list(cleaned.columns) == ["id", "text", "label", "extra"]  # the run's ids, for a re-audit
    assert cleaned["id"].tolist() == [i for i in range(len(frame)) if i != 4]
    assert pd.api.types.is_integer_dtype(cleaned["label"])
    assert cleaned["label"].iat[3] == (first + 1) % 3 and len(cleaned) == len(frame) - 1
    assert 4 not in set(cleaned["extra"])


@pytest.mark.parametrize("source", ["../../evil.csv", "a/../../b.csv", "..", "/tmp/../..", "..\\..\\x.csv",
                                    "org/../../name"])
@pytest.mark.parametrize("fmt", ["csv", "hub"])
def test_run_names_cannot_escape_the_reports_folder(tmp_path, source, fmt):
    from auditor.config import DataConfig
    from auditor.data import from_frame
    from auditor.pipeline import default_out_dir

    data = from_frame(easy_dataset(2), DataConfig(source=source), fmt=fmt)
    root = tmp_path / "reports"
    out = default_out_dir(data.name, root=str(root)).resolve()
    assert out.parent == root.resolve() and "/" not in data.name and data.name not in ("", ".", "..")


# ------------------------------------------------------------------ hostile cells, ids, formats (issue 18)

def cli(*args) -> tuple[int, str, str]:
    """The CLI's main() in-process (a subprocess costs seconds of imports): (exit code, stdout, stderr)."""
    import contextlib
    import io

    from auditor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def one_line_error(result, *fragments) -> str:
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("auditor: error: "), (code, err)
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])
    return lines[0]


CR_FORMULA = "x\r=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """String ids that read as the same number, a CR-and-formula text, and two classes that differ only by
    a leading apostrophe; every row scored so that all of them are in suspects.csv with --top."""
    folder = tmp_path_factory.mktemp("hostile")
    frame = easy_dataset(8)
    frame["label"] = frame["label"].replace({"food": "'-neg", "sport": "-neg"})
    frame.insert(0, "key", [str(i) for i in range(len(frame))])
    frame.loc[:3, "key"] = ["0", "1", "01", "1.0"]
    frame.at[5, "text"] = CR_FORMULA
    path = folder / "input.csv"
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)  # pandas leaves a lone CR unquoted otherwise
    return build_run(path, folder / "run", data={"id_column": "key"}), path, frame


def test_cr_inside_a_cell_stays_inside_its_quoted_field(hostile, tmp_path):
    """Fault 1: a CR before a formula came out unquoted and split one row in two."""
    run_dir, path, frame = hostile
    sheet = tmp_path / "all.csv"
    assert cli("export", run_dir, "--top", len(frame), "--out", sheet)[0] == 0
    read = pd.read_csv(sheet, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    rows = _read_like_a_spreadsheet(sheet)
    assert len(read) == len(rows) == len(frame)
    texts = {r["id"]: r["text"] for r in rows}
    assert texts["5"] == CR_FORMULA  # quoted: the CR stays inside its cell, so no row starts with '=cmd' 
    flagged = int(pd.read_parquet(run_dir / "scores.parquet")["is_label_issue"].sum())
    for name, n in (("scores.csv", len(frame)), ("suspects.csv", flagged)):
        assert len(pd.read_csv(run_dir / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")) == n
    # apply on the tool's own, unedited file changes nothing and loses no row
    done = cli("apply", run_dir, sheet, "--out", tmp_path / "o")
    assert done[0] == 0, done[2]
    cleaned = pd.read_csv(tmp_path / "o" / "cleaned.csv", dtype=str, keep_default_na=False)
    assert cleaned.equals(pd.read_csv(path, dtype=str, keep_default_na=False))


def test_ids_that_read_as_one_number_stay_distinct(hostile, tmp_path):
    """Fault 2: ids 1, 01 and 1.0 were one number; `1,DELETE` deleted the 01 row."""
    run_dir, path, frame = hostile
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert scores["id"].tolist()[:4] == ["0", "1", "01", "1.0"]
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label\n1,DELETE\n", encoding="utf-8")
    assert cli("apply", run_dir, corrections, "--out", tmp_path / "o")[0] == 0
    cleaned = pd.read_csv(tmp_path / "o" / "cleaned.csv", dtype=str, keep_default_na=False)
    assert "1" not in set(cleaned["key"]) and {"01", "1.0", "0"} <= set(cleaned["key"])


def test_classes_differing_by_a_leading_apostrophe_stay_distinct(hostile, tmp_path):
    """Fault 12: '-neg and -neg both became '-neg; copying the suggestion relabelled to the wrong class."""
    run_dir, path, frame = hostile
    sheet = tmp_path / "all.csv"
    assert cli("export", run_dir, "--top", len(frame), "--out", sheet)[0] == 0
    rows = _read_like_a_spreadsheet(sheet)
    assert {"''-neg", "'-neg"} <= {r["given_label"] for r in rows}
    for r in rows:
        r["corrected_label"] = r["suggested_label"]  # what an annotator does to accept every suggestion
    _write_like_a_spreadsheet(rows, sheet)
    assert cli("apply", run_dir, sheet, "--out", tmp_path / "o")[0] == 0
    scores = pd.read_parquet(run_dir / "scores.parquet")
    cleaned = pd.read_csv(tmp_path / "o" / "cleaned.csv", dtype=str, keep_default_na=False)
    assert dict(zip(cleaned["key"], cleaned["label"])) == dict(zip(scores["id"], scores["suggested_label"]))


def test_suspects_has_rank_score_names_and_says_which_duplicate_to_check(tmp_path):
    """Issue 14: a rank column, scores.csv's names, and words for rows flagged only as conflicting copies."""
    frame = easy_dataset(20)
    copy = frame.iloc[[0]].copy()
    copy["label"] = [c for c in ("food", "sport", "tech") if c != frame.at[0, "label"]][0]
    data = pd.concat([frame, copy], ignore_index=True)
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    run_dir = build_run(path, tmp_path / "run")
    rows = _read_like_a_spreadsheet(run_dir / "suspects.csv")
    assert list(rows[0]) == SUSPECT_COLUMNS
    assert [int(r["rank"]) for r in rows] == sorted(int(r["rank"]) for r in rows)
    assert {"loss_score", "label_quality_score"} <= set(rows[0]) and "loss" not in rows[0]
    original = next(r for r in rows if r["id"] == "0")
    assert original["given_label"] == original["suggested_label"]
    assert "check the other copies" in original["what_to_check"] and f"id {len(frame)}" in original["what_to_check"]


def test_export_never_overwrites_annotations_without_flag(audited, tmp_path):
    """Issue 14: `export` overwrote an annotator's filled-in suspects.csv without a word."""
    run_dir = tmp_path / "run"
    shutil.copytree(audited[0], run_dir)
    assert cli("export", run_dir, "--top", 5)[0] == 0  # an unannotated suspects.csv is the tool's own
    rows = _read_like_a_spreadsheet(run_dir / "suspects.csv")
    rows[2]["note"] = "looks like sport to me"
    _write_like_a_spreadsheet(rows, run_dir / "suspects.csv")
    before = _digest(run_dir / "suspects.csv")
    one_line_error(cli("export", run_dir, "--top", 7), "suspects.csv", "holds annotations (1 row", "--overwrite")
    assert _digest(run_dir / "suspects.csv") == before
    assert cli("export", run_dir, "--top", 7, "--overwrite")[0] == 0
    assert len(_read_like_a_spreadsheet(run_dir / "suspects.csv")) == 7


def test_cleaned_copy_keeps_the_audit_ids_for_a_reaudit(tmp_path):
    """Issue 14: after a DELETE the row positions of later rows shifted; the cleaned copy now holds the ids."""
    from auditor.config import DataConfig
    from auditor.data import load_data

    path = tmp_path / "d.csv"
    easy_dataset(10).to_csv(path, index=False)
    run_dir = build_run(path, tmp_path / "run")
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label,note\n3,DELETE,spam\n7,,unsure\n", encoding="utf-8")
    code, out, _ = cli("apply", run_dir, corrections)
    assert code == 0 and "0 relabelled, 1 deleted, 1 kept" in out and "--id-column id" in out
    again = load_data(DataConfig(source=str(run_dir / "cleaned.csv"), id_column="id"))
    assert again.ids.tolist() == [i for i in range(30) if i != 3]
    changes = pd.read_csv(run_dir / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert changes[["id", "change", "note"]].values.tolist() == [["3", "deleted", "spam"], ["7", "kept", "unsure"]]


JSONL_ROWS = ['{"uid": 9007199254740993, "text": "goal match team", "label": "sport", "score": 0.1}',
              '{"uid": 2, "text": "pizza oven bread", "label": "food"}',
              '  {"uid": 3,   "text": "laptop\u2028cloud server", "label": "tech", "extra": null}']


@pytest.mark.parametrize("form", ["jsonl", "json array", "json columns"])
def test_apply_gives_back_uncorrected_rows_in_their_own_form(tmp_path, form):
    """Fault 4: a large integer came back as 9007199254740992.0, a missing key as null, a JSON array as lines."""
    lines = [JSONL_ROWS[i % 3].replace(f'"uid": {[9007199254740993, 2, 3][i % 3]}', f'"uid": {10**16 + i}')
             for i in range(15)]
    records = [json.loads(line) for line in lines]
    if form == "jsonl":
        path, text = tmp_path / "d.jsonl", "\r\n".join(lines) + "\r\n\r\n"
    elif form == "json array":
        path, text = tmp_path / "d.json", json.dumps(records, indent=2)
    else:
        columns = {k: [r.get(k) for r in records] for k in ("uid", "text", "label")}
        path, text = tmp_path / "d.json", json.dumps(columns)
    path.write_bytes(text.encode("utf-8"))
    run_dir = build_run(path, tmp_path / "run", data={"id_column": "uid"})
    corrections = tmp_path / "c.csv"
    corrections.write_text(f"id,corrected_label\n{10**16 + 4},DELETE\n{10**16 + 5},sport\n", encoding="utf-8")
    assert cli("apply", run_dir, corrections, "--out", tmp_path / "o")[0] == 0
    written = (tmp_path / "o" / path.name.replace("d.", "cleaned.")).read_bytes().decode("utf-8")
    if form == "jsonl":
        kept = [line for i, line in enumerate(lines) if i not in (4, 5)]
        assert [line for line in written.split("\r\n") if line and '"uid": 10000000000000005' not in line] == kept
        return
    value = json.loads(written)
    if form == "json array":
        assert isinstance(value, list) and len(value) == 14
        expected = [r for i, r in enumerate(records) if i != 4]
        expected[4] = {**expected[4], "label": "sport"}
        assert value == expected
    else:
        assert isinstance(value, dict) and value["uid"] == [r["uid"] for i, r in enumerate(records) if i != 4]
        assert value["label"][4] == "sport"


def _odd_csv_records(sep: str) -> list[str]:
    """Data rows (text, label, note) of 15 records as a person or another tool might write them: quoted
    newlines and CRs, doubled quotes, a quote inside an unquoted cell, a quoted cell with text after its
    closing quote, a formula-like text, mixed line ends."""
    words = ["goal match team", "pizza oven bread", "laptop cloud server"]
    labels = ["sport", "food", "tech"]
    odd = [f'"multi\r\nline {{w}}"{sep}{{lab}}{sep}x', f'"say ""hi"" {{w}}"{sep}"{{lab}}"{sep}', f'a"quote {{w}}{sep}{{lab}}{sep}',
           f'"half"way {{w}}{sep}{{lab}}{sep}"n"', f'=1+1 {{w}}{sep}{{lab}}{sep}-x', f'"lone\rcr {{w}}"{sep}{{lab}}{sep}']
    ends = ["\r\n", "\n", "\r\n"]
    return [odd[i % len(odd)].format(w=words[i % 3], lab=labels[i % 3]) + ends[i % 3] for i in range(15)]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_apply_gives_back_uncorrected_csv_rows_byte_for_byte(tmp_path, fmt):
    """Fault 4 in CSV/TSV: uncorrected rows were rewritten (quoting, BOM, line ends); now each keeps its bytes.
    Without an id column the run's ids are added in front; a corrected row changes in its label cell only."""
    sep = "," if fmt == "csv" else "\t"
    records = _odd_csv_records(sep)
    header, blank = f"text{sep}label{sep}note\r\n", "  \r\n"
    raw = "\ufeff" + header + "".join(records[:7]) + blank + "".join(records[7:])
    raw = raw[:-2]  # the last row has no line end
    path = tmp_path / f"d.{fmt}"
    path.write_bytes(raw.encode("utf-8"))
    run_dir = build_run(path, tmp_path / "run")
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label\n4,DELETE\n1,tech\n14,sport\n", encoding="utf-8")
    code, out, err = cli("apply", run_dir, corrections, "--out", tmp_path / "o")
    assert code == 0, err
    rows = [f"{i}{sep}{r}" for i, r in enumerate(records)]
    rows[1] = rows[1].replace(f'{sep}"food"{sep}', f'{sep}"tech"{sep}')
    rows[14] = rows[14].replace(f"{sep}tech{sep}", f'{sep}"sport"{sep}')[:-2]
    expected = "\ufeff" + f"id{sep}" + header + "".join(rows[:4] + rows[5:7]) + blank + "".join(rows[7:])
    assert (tmp_path / "o" / f"cleaned.{fmt}").read_bytes() == expected.encode("utf-8")
    # Empty corrections: the original fields of every row, byte for byte, after the added ids.
    corrections.write_text("id,corrected_label\n", encoding="utf-8")
    assert cli("apply", run_dir, corrections, "--out", tmp_path / "o2")[0] == 0
    rows = [f"{i}{sep}{r}" for i, r in enumerate(records)]
    expected = "\ufeff" + f"id{sep}" + header + "".join(rows[:7]) + blank + "".join(rows[7:])[:-2]
    assert (tmp_path / "o2" / f"cleaned.{fmt}").read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize("name, content", [
    ("d.csv.gz", '\ufefftext,label\r\n"goal\nmatch",sport\r\npizza,food\r\nteam,sport\r\noven,food\r\n'),
    ("d.jsonl.gz", '{"text": "goal", "label": "sport"}\n{"text": "pizza", "label": "food"}\n' * 2),
    ("d.txt.gz", "goal;sport\r\npizza;food\r\nteam;sport\r\noven;food"),
    ("d.json.gz", '[{"text": "goal", "label": "sport"}, {"text": "pizza", "label": "food"}, '
                  '{"text": "team", "label": "sport"}]'),
])
def test_apply_reads_a_gzipped_input_as_the_run_did(tmp_path, name, content):
    """A .jsonl.gz, .txt.gz or .json.gz input made apply fail (it read the compressed bytes as text); the
    cleaned copy is the decompressed file, byte for byte where nothing changed."""
    import gzip
    import warnings

    from auditor.annotate.apply import cleaned_copy
    from auditor.config import DataConfig
    from auditor.data import load_data

    path = tmp_path / name
    path.write_bytes(gzip.compress(content.encode("utf-8")))
    data = load_data(DataConfig(source=str(path)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cleaned = cleaned_copy(data).decode("utf-8")
    if name != "d.json.gz":
        assert cleaned == content
    else:
        assert json.loads(cleaned) == json.loads(content)


def test_csv_rows_that_do_not_read_back_are_written_value_for_value_with_a_warning(tmp_path):
    """The safety net: if the rows as cut from the file ever differ from the rows the run read, apply must
    not guess; it writes the intended values (re-quoted) and says that the bytes are not kept."""
    import dataclasses

    from auditor.annotate.apply import cleaned_copy
    from auditor.config import DataConfig
    from auditor.data import load_data
    from auditor.errors import DataWarning

    path = tmp_path / "d.csv"
    path.write_text("text,label\ngoal,sport\npizza,food\nteam,sport\noven,food\n", encoding="utf-8")
    data = load_data(DataConfig(source=str(path)))
    frame = data.frame.copy()
    frame.loc[2, "text"] = "not what the file says"
    with pytest.warns(DataWarning, match="not the same bytes"):
        cleaned = cleaned_copy(dataclasses.replace(data, frame=frame), relabel={0: "food"}, deleted=[1])
    assert pd.read_csv(io.BytesIO(cleaned), dtype=str).values.tolist() == [
        ["goal", "food"], ["not what the file says", "sport"], ["oven", "food"]]


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("\r=cmd", "'\r=cmd"), ("\n\t+1", "'\n\t+1"), ("  -2", "'  -2"), ("@x", "'@x"),
    ("\tplain", "'\tplain"), ("'-neg", "''-neg"), ("-neg", "'-neg"), ("'quoted'", "''quoted'"),
    ("plain", "plain"), ("x\r=cmd", "x\r=cmd"), ("", ""),
])
def test_neutralise_is_one_to_one_and_undone_exactly(value, written):
    from auditor.safeio import neutralise, unneutralise

    assert neutralise(value) == written and unneutralise(written) == value


def _same(path: Path) -> str:
    return _digest(path)


def test_no_command_writes_over_its_input_or_a_foreign_file(hostile, tmp_path):
    """Fault 6: `apply --out DIR --overwrite` replaced DIR/cleaned.csv, its input; `export`/`report --out
    data.csv` replaced the input without a flag. Inputs are refused even with --overwrite; other existing
    files need --overwrite; the tool's own outputs are replaced as before."""
    run_dir = tmp_path / "run"
    shutil.copytree(hostile[0], run_dir)
    data = tmp_path / "cleaned.csv"
    shutil.copy(hostile[1], data)
    run_json = json.loads((run_dir / "run.json").read_text())
    run_json["data"]["source"] = str(data)
    (run_dir / "run.json").write_text(json.dumps(run_json))
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label\n0,DELETE\n", encoding="utf-8")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    log = tmp_path / "sub" / "changes.csv"  # corrections kept where apply would write its change log
    log.parent.mkdir()
    shutil.copy(corrections, log)
    protected = [data, corrections, notes, log, *(run_dir / n for n in ("scores.csv", "scores.parquet", "run.json"))]
    before = {p: _same(p) for p in protected}
    for args, fragment in [
        (("apply", run_dir, corrections, "--out", tmp_path, "--overwrite"), "is an input"),
        (("export", run_dir, "--out", data, "--overwrite"), "is an input"),
        (("report", run_dir, "--out", data, "--overwrite"), "is an input"),
        (("export", run_dir, "--out", run_dir / "scores.csv", "--overwrite"), "is an input"),
        (("report", run_dir, "--out", run_dir / "run.json", "--overwrite"), "is an input"),
        (("apply", run_dir, log, "--out", log.parent, "--overwrite"), "is an input"),
        (("export", run_dir, "--out", notes), "--overwrite"),
        (("export", run_dir, "--format", "label-studio", "--out", data, "--overwrite"), "is an input"),
        (("export", run_dir, "--format", "label-studio", "--out", notes), "--overwrite"),
        (("compare", run_dir, run_dir, "--out", run_dir / "scores.csv"), "is an input"),
        (("report", run_dir, "--out", notes), "--overwrite"),
        (("run", "--data", data, "--out", notes, "--method", "tfidf", "--overwrite"), "not a folder"),
        (("run", "--data", data, "--out", tmp_path, "--method", "tfidf", "--overwrite"), "holds the input"),
    ]:
        one_line_error(cli(*args), fragment)
    assert {p: _same(p) for p in protected} == before
    assert not [p for p in tmp_path.rglob(".*tmp*")], "no temporary file left behind"
    # the tool's own outputs are replaced without a flag; a foreign file with one
    assert cli("report", run_dir)[0] == 0 and cli("export", run_dir)[0] == 0
    assert cli("export", run_dir, "--out", notes, "--overwrite")[0] == 0


def test_outputs_are_written_through_a_random_temporary_name(hostile, tmp_path):
    """Fault 9: a symlink planted at RUN/.suspects.csv.tmp-<pid> redirected the write to its target."""
    import os

    run_dir = tmp_path / "run"
    shutil.copytree(hostile[0], run_dir)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    for name in (f".suspects.csv.tmp-{os.getpid()}", f".report.html.tmp-{os.getpid()}"):
        (run_dir / name).symlink_to(victim)
    assert cli("export", run_dir)[0] == 0 and cli("report", run_dir)[0] == 0
    assert victim.read_text() == "untouched"
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    one_line_error(cli("export", run_dir, "--out", link), "--overwrite")
    assert cli("export", run_dir, "--out", link, "--overwrite")[0] == 0
    assert victim.read_text() == "untouched" and not link.is_symlink()  # the link is replaced, not followed


def test_readme_states_the_promises_in_the_words_the_tests_check():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What auditor promises: ids, overwriting, interrupts", 1)[1].split("\n## ", 1)[0]
    section = " ".join(section.split())
    for words in ["ids are compared as text", "64-bit range", "above 2^53 stay exact", "--id-column id",
                  "No command writes over a file it read from", "holds annotations", "only replaces run folders",
                  "files auditor did not write", "An empty folder is a valid `--out`", "never followed",
                  "exits 130 or 143", "auditor: interrupted (SIGINT)", "`''-neg`", "byte for byte",
                  "N relabelled, M deleted, K kept", "byte for byte in CSV, TSV, JSON Lines and `text;label` files",
                  "its label cell is rewritten, quoted", "A `text;label` line has no room for an id",
                  "(`relabelled`, `deleted`, `kept`)", "its cells are not neutralised",
                  "A multi-label run's cleaned copy keeps the same promise"]:
        assert words in section, words


def test_ids_above_2_53_stay_exact_in_the_report(tmp_path):
    """Fault 2: 9007199254741137 showed as ...136 (a JavaScript number)."""
    import re

    bad = Path(__file__).resolve().parent / "data" / "bad"
    assert cli("run", "--data", bad / "ids_big.jsonl", "--id-column", "id", "--method", "tfidf", "--folds", "2",
               "--out", tmp_path / "run", "--quiet")[0] == 0
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    big = str(2**53 + 1)
    assert f'"{big}"' in html and not re.search(rf"[\[,:]{big}[,\]}}]", html)


def test_the_report_download_neutralises_by_the_same_rule():
    """The page writes corrections CSVs too: its rule must be safeio's, or `'-neg` and `-neg` meet again."""
    from auditor.safeio import _NEEDS_PREFIX

    script = (Path(__file__).resolve().parents[1] / "auditor" / "report" / "templates" / "report.js.j2").read_text()
    assert f"var FORMULA = /{_NEEDS_PREFIX.pattern}/;" in script
