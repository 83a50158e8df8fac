"""The annotators' CSV round trip: export suspects, edit them as an annotator would, apply, check the output."""

from __future__ import annotations

import csv
import hashlib
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


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_writes_ranked_spreadsheet_safe_csv(audited, tmp_path):
    run_dir, _, _, _ = audited
    out = tmp_path / "top.csv"
    done = run_cli("export", run_dir, "--top", 30, "--out", out)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = _read_like_a_spreadsheet(out)
    assert list(rows[0]) == SUSPECT_COLUMNS and len(rows) == 30
    scores = pd.read_csv(run_dir / "scores.csv", keep_default_na=False).sort_values("rank")
    expected = [k if k[0] not in "=-" else "'" + k for k in scores["id"].astype(str).head(30)]
    assert [r["id"] for r in rows] == expected
    assert all(r["corrected_label"] == "" and r["note"] == "" for r in rows)
    cells = [r[c] for r in rows for c in ("id", "text", "given_label", "suggested_label", "reasons")]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'@food" in {r["given_label"] for r in rows} | {r["suggested_label"] for r in rows}


def test_export_rewrites_suspects_csv_with_flagged_rows_by_default(audited, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(audited[0], run_dir)
    done = run_cli("export", run_dir, "--top", 5)
    assert done.returncode == 0 and len(_read_like_a_spreadsheet(run_dir / "suspects.csv")) == 5
    done = run_cli("export", run_dir)
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
    assert f"{len(flipped)} relabelled, 2 dropped" in done.stdout
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
    assert list(changes.columns) == ["id", "old_label", "new_label", "change"]
    changes["id"] = changes["id"].str.lstrip("'")
    dropped = changes[changes["change"] == "dropped"]
    assert sorted(dropped["id"]) == sorted(deleted) and (dropped["new_label"] == "").all()
    relabelled = changes[changes["change"] == "relabelled"]
    assert dict(zip(relabelled["id"], relabelled["new_label"].str.lstrip("'"))) == corrected
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
    done = run_cli("apply", run_dir, path, "--out", out)
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
    done = run_cli("apply", run_dir, path, "--out", tmp_path / "out")
    assert done.returncode == 2 and "row 4: id" in done.stderr and "(first at row 3)" in done.stderr


def test_apply_does_not_overwrite_without_flag(audited, tmp_path):
    run_dir = audited[0]
    rows = _read_like_a_spreadsheet(run_dir / "suspects.csv")[:1]
    rows[0]["corrected_label"] = "DELETE"
    path = tmp_path / "c.csv"
    _write_like_a_spreadsheet(rows, path)
    assert run_cli("apply", run_dir, path, "--out", tmp_path / "o").returncode == 0
    first = _digest(tmp_path / "o" / "cleaned.csv")
    done = run_cli("apply", run_dir, path, "--out", tmp_path / "o")
    assert done.returncode == 2 and "already exists" in done.stderr
    assert _digest(tmp_path / "o" / "cleaned.csv") == first
    assert run_cli("apply", run_dir, path, "--out", tmp_path / "o", "--overwrite").returncode == 0


def test_apply_refuses_when_the_data_changed_since_the_run(tmp_path):
    frame = easy_dataset(10)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    run_dir = build_run(path, tmp_path / "run")
    frame.iloc[:-1].to_csv(path, index=False)
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,corrected_label\n0,DELETE\n", encoding="utf-8")
    done = run_cli("apply", run_dir, corrections)
    assert done.returncode == 2 and "changed since the run" in done.stderr
    assert not (run_dir / "cleaned.csv").exists() and not (run_dir / "changes.csv").exists()


def test_apply_on_text_label_lines_keeps_the_format(emotion_slice, tmp_path):
    run_dir = build_run(emotion_slice, tmp_path / "run")
    lines = emotion_slice.read_text(encoding="utf-8").splitlines()
    corrections = tmp_path / "c.csv"
    corrections.write_text("id,text,corrected_label,note\n5,whatever,love,\n0,,surprise,x\n7,,DELETE,\n9,,,\n",
                           encoding="utf-8")
    done = run_cli("apply", run_dir, corrections)
    assert done.returncode == 0, done.stderr
    cleaned = (run_dir / "cleaned.txt").read_text(encoding="utf-8").splitlines()
    expected = list(lines)
    expected[0] = expected[0].rsplit(";", 1)[0] + ";surprise"
    expected[5] = expected[5].rsplit(";", 1)[0] + ";love"
    del expected[7]
    assert cleaned == expected


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
    done = run_cli("apply", run_dir, corrections)
    assert done.returncode == 0, done.stderr
    out = run_dir / f"cleaned.{fmt}"
    cleaned = pd.read_parquet(out) if fmt == "parquet" else pd.read_json(out, lines=True)
    assert list(cleaned.columns) == ["text", "label", "extra"]
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
