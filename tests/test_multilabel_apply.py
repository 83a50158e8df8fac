"""Multi-label `apply` keeps issue 18's promise: uncorrected rows come out byte for byte (value for value in
Parquet), and random set corrections change exactly the corrected rows, in their label cell(s) only. A
property over every accepted form, then the CLI on a GoEmotions slice."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from auditor.annotate.apply import cleaned_copy
from auditor.config import DataConfig
from auditor.errors import DataError
from auditor.multilabel.data import load_multilabel
from conftest import run_cli
from report_helpers import build_run
from test_multilabel import GO, NAMES
from test_properties import _cells_of, _csv_pieces, _quoted, expected_file

ROUND_TRIP = settings(max_examples=15, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# csv/tsv: a column of joined labels; jsonl/parquet: JSON lists; columns: one 0/1 column per label;
# headerless: GoEmotions' own form (no header, label ids joined by ',', read without quoting).
FORMS = ["csv", "tsv", "jsonl", "parquet", "columns", "headerless"]
LABELS = ["joy", "=sad", "a b", "Ünï", 'q"t', "-neg", "love"]
SPELLINGS = [("0", "1"), ("0.0", "1.0"), ("false", "true"), ("False", "True"), ("no", "yes")]
TEXT_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
ACCEPTED = []


@st.composite
def multilabel_files(draw, form: str):
    """(form, rows as dicts, the separator of joined labels, a seeded random)."""
    n = draw(st.integers(3, 8))
    pool = draw(st.lists(st.sampled_from(LABELS), min_size=2, max_size=4, unique=True))
    if form == "headerless":
        pool = [str(i) for i in range(len(pool))]  # label ids, named by a --label-names file
    sets = [sorted(draw(st.sets(st.sampled_from(pool), min_size=1, max_size=len(pool)))) for _ in range(n)]
    sets[0], sets[1] = [pool[0]], [pool[1]]  # two labels at least occur
    chars = TEXT_CHARS if form != "headerless" else st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\t\r\n")
    texts = draw(st.lists(st.text(alphabet=chars, min_size=1, max_size=10).filter(str.strip), min_size=n,
                          max_size=n))
    separator = draw(st.sampled_from([",", "|", ";"])) if form in ("csv", "tsv") else None
    spelling = draw(st.sampled_from(SPELLINGS))
    if form == "columns":
        rows = [{"text": t, **{f"l_{lab}": spelling[lab in s] for lab in pool}} for t, s in zip(texts, sets)]
    elif form in ("jsonl", "parquet"):
        rows = [{"text": t, "labels": s} for t, s in zip(texts, sets)]
    else:
        rows = [{"text": t, "labels": (separator or ",").join(s)} for t, s in zip(texts, sets)]
    if draw(st.booleans()):
        for i, row in enumerate(rows):
            row["id"] = f"c{i}x"
    return form, rows, separator, draw(st.randoms(use_true_random=False))


def _write(form: str, rows: list[dict], folder: Path, rng, names_file: Path) -> tuple[Path, list | None, dict]:
    """The file, its CSV/TSV pieces (`test_properties._csv_pieces`) and the DataConfig options reading it."""
    options = {"id_column": "id"} if "id" in rows[0] else {}
    if form in ("csv", "tsv", "columns"):
        sep = "\t" if form == "tsv" else ","
        pieces = _csv_pieces(rows, sep, rng)
        path = folder / f"d.{'tsv' if form == 'tsv' else 'csv'}"
        path.write_bytes("".join(text for _, text in pieces).encode("utf-8"))
        if form == "columns":
            options["label_columns"] = "l_*"
        return path, pieces, options
    if form == "headerless":  # GoEmotions' form: literal cells, LF line ends
        columns = list(rows[0])
        pieces = [("row", "\t".join(str(r[c]) for c in columns) + "\n") for r in rows]
        path = folder / "d.tsv"
        path.write_bytes("".join(text for _, text in pieces).encode("utf-8"))
        return path, pieces, {**options, "column_names": ",".join(columns), "label_names": str(names_file)}
    path = folder / f"d.{form}"
    if form == "jsonl":
        path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    else:
        pd.DataFrame(rows).to_parquet(path, index=False)
    return path, None, options


def _random_sets(data, rng) -> tuple[dict, set]:
    """Corrections to a random subset of rows: a different non-empty set of class names, or a deletion."""
    relabel, deleted = {}, set()
    names = list(data.class_names)
    for position in rng.sample(range(len(data)), rng.randint(0, len(data))):
        if rng.random() < 0.25:
            deleted.add(position)
            continue
        old = {names[j] for j in np.flatnonzero(data.labels[position])}
        new = set(rng.sample(names, rng.randint(1, len(names))))
        if new != old:
            relabel[position] = sorted(new)
    return relabel, deleted


def _sets(data) -> list[set]:
    return [{data.class_names[j] for j in np.flatnonzero(row)} for row in data.labels]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("form", FORMS)
@ROUND_TRIP
@given(drawn=st.data(), correct=st.booleans())
def test_multilabel_apply_changes_exactly_the_corrected_rows(tmp_path_factory, form, drawn, correct):
    """Empty corrections give back the input byte for byte (Parquet: value for value); random set corrections
    change exactly those rows, in their label cell(s), written as the input writes sets."""
    form, rows, separator, rng = drawn.draw(multilabel_files(form))
    folder = tmp_path_factory.mktemp("ml")
    names_file = folder / "names.txt"
    names_file.write_text("".join(f"n{i}\n" for i in range(8)), encoding="utf-8")
    path, pieces, options = _write(form, rows, folder, rng, names_file)
    config = DataConfig(source=str(path), label_separator=separator, **options)
    try:
        data = load_multilabel(config)
    except DataError:
        assume(False)
    ACCEPTED.append(form)
    relabel, deleted = _random_sets(data, rng) if correct else ({}, set())
    cleaned = folder / f"cleaned{path.suffix}"
    cleaned.write_bytes(cleaned_copy(data, relabel, deleted))

    if not relabel and not deleted and form != "parquet":
        assert cleaned.read_bytes() == path.read_bytes()  # byte for byte
    kept = [i for i in range(len(data)) if i not in deleted]
    want = [set(relabel.get(i, _sets(data)[i])) for i in kept]
    try:
        after = load_multilabel(dataclasses.replace(config, source=str(cleaned)))
    except DataError:  # an audit needs rows and two labels; the corrections may leave fewer
        assert len({n for s in want for n in s}) < 2
        return
    assert _sets(after) == want  # the sets asked for, in order
    assert list(after.texts) == [data.texts[i] for i in kept]
    if data.id_column:  # else the ids are row positions, counted again
        assert [str(x) for x in after.ids] == [str(data.ids[i]) for i in kept]
    labels = set(after.label_columns) or {after.label_column}
    others = [c for c in data.frame.columns if c not in labels]
    pd.testing.assert_frame_equal(after.frame[others].reset_index(drop=True),
                                  data.frame[others].iloc[kept].reset_index(drop=True))
    if pieces is not None:
        _check_csv_bytes(form, pieces, cleaned, data, relabel, deleted)
    elif form == "jsonl":
        _check_jsonl_lines(path, cleaned, data, relabel, deleted)


def _check_csv_bytes(form, pieces, cleaned, data, relabel, deleted):
    """The file as it was with the deleted rows taken out and, in a corrected row, only the label cell(s)
    rewritten: quoted, or as written in a literal (headerless) TSV."""
    sep = "\t" if form in ("tsv", "headerless") else ","
    header = list(data.frame.columns)

    def rewrite(i, body):
        if i not in relabel:
            return body
        cells = body.split("\t") if form == "headerless" else _cells_of(body, sep)
        for column, value in _expected_cells(form, data, i, relabel[i]).items():
            cells[header.index(column)] = value if form == "headerless" else _quoted(value)
        return sep.join(cells)

    assert cleaned.read_bytes().decode("utf-8") == expected_file(pieces, deleted, rewrite)


def _expected_cells(form, data, i, names) -> dict:
    """What a corrected row's label cell(s) must hold, derived from the input, not from the writer."""
    new = set(names)
    if form == "columns":  # one spelling per file: the changed cells only
        values = [v for c in data.label_columns for v in data.frame[c]]
        on = next((v for v in values if v.lower() in ("1", "1.0", "true", "yes")), None)
        off = next((v for v in values if v.lower() in ("0", "0.0", "false", "no")), None)
        pair = next(p for p in SPELLINGS if on in p or off in p)
        return {c: pair[c in new] for c, was in zip(data.label_columns, data.labels[i]) if bool(was) != (c in new)}
    if form == "headerless":  # label ids, as GoEmotions writes them
        return {data.label_column: ",".join(str(data.class_names.index(n)) for n in sorted(
            new, key=data.class_names.index))}
    return {data.label_column: data.separator.join(sorted(new))}


def _check_jsonl_lines(path, cleaned, data, relabel, deleted):
    """Kept lines as they were; a corrected line is the same record with the new list in the class order."""
    before = path.read_text("utf-8").split("\n")
    after = cleaned.read_text("utf-8").split("\n")
    kept = [i for i in range(len(data)) if i not in deleted]
    assert len(after) == len(kept) + 1 and after[-1] == ""
    for i, line in zip(kept, after):
        if i not in relabel:
            assert line == before[i]
        else:
            assert json.loads(line) == {**json.loads(before[i]), "labels": sorted(relabel[i])}


def test_the_multilabel_property_accepted_every_form():
    """Guard: the property above must not pass by rejecting the generated files."""
    if not ACCEPTED:
        pytest.skip("run together with test_multilabel_apply_changes_exactly_the_corrected_rows")
    counts = {form: ACCEPTED.count(form) for form in FORMS}
    assert min(counts.values()) >= 5, counts


# ----------------------------------------------------------------------------- the CLI on GoEmotions


@pytest.mark.skipif(GO is None, reason="GoEmotions not found under ../shared or /work/shared")
def test_cli_apply_on_goemotions_keeps_uncorrected_lines(tmp_path):
    """`auditor apply` in a subprocess on 184 GoEmotions rows (headerless TSV, label ids, quotes in texts, saved
    with CRLF line ends as a Windows editor does): no corrections give back the file byte for byte;
    corrections change exactly those lines, in their label cell; changes.csv as before."""
    from collections import Counter

    lines = (GO / "train.tsv").read_bytes().decode("utf-8").split("\n")[:200]
    count = Counter(j for line in lines for j in line.split("\t")[1].split(","))
    lines = [line for line in lines if all(count[j] >= 4 for j in line.split("\t")[1].split(","))]  # 3 folds
    data = tmp_path / "go.tsv"
    data.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    run = build_run(data, tmp_path / "run", task="multi-label", signals="none", data={
        "column_names": "text,labels,id", "label_names": str(GO / "emotions.txt"), "id_column": "id"})
    empty = tmp_path / "empty.csv"
    empty.write_text("id,corrected_labels\n", encoding="utf-8")
    from auditor.cli import main

    assert main(["apply", str(run), str(empty), "--out", str(tmp_path / "same"), "--quiet"]) == 0  # in process
    assert (tmp_path / "same" / "cleaned.tsv").read_bytes() == data.read_bytes()

    ids = [line.split("\t")[2] for line in lines]
    quoted = next(i for i, line in enumerate(lines) if '"' in line.split("\t")[0])  # a stray quote, kept as is
    other = next(i for i, line in enumerate(lines) if i > 3 and line.split("\t")[1] != str(NAMES.index("neutral")))
    fixes = {ids[quoted]: "gratitude,joy", ids[3]: "DELETE", ids[other]: "neutral"}
    corrections = tmp_path / "fixed.csv"
    pd.DataFrame({"id": list(fixes), "corrected_labels": list(fixes.values()),
                  "note": ["checked", "", ""]}).to_csv(corrections, index=False)
    proc = run_cli("apply", run, corrections, "--out", tmp_path / "clean")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"\b2 relabelled\b", proc.stdout) and re.search(r"\b1 deleted\b", proc.stdout), proc.stdout
    expected = []
    for i, line in enumerate(lines):
        text, labels, key = line.split("\t")
        if key in fixes and fixes[key] == "DELETE":
            continue
        if key in fixes:
            labels = ",".join(str(NAMES.index(n)) for n in fixes[key].split(","))
        expected.append("\t".join([text, labels, key]))
    assert (tmp_path / "clean" / "cleaned.tsv").read_bytes().decode("utf-8") == "\r\n".join(expected) + "\r\n"
    changes = pd.read_csv(tmp_path / "clean" / "changes.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert list(changes.columns) == ["id", "old_labels", "new_labels", "change", "note"]
    assert dict(zip(changes["id"], changes["change"])) == {ids[quoted]: "relabelled", ids[3]: "deleted",
                                                          ids[other]: "relabelled"}
    assert changes.set_index("id").loc[ids[quoted], ["new_labels", "note"]].tolist() == ["gratitude,joy", "checked"]


@pytest.mark.skipif(GO is None, reason="GoEmotions not found under ../shared or /work/shared")
@pytest.mark.parametrize("form", ["csv", "headerless"])
def test_cli_apply_without_an_id_column_writes_the_run_ids(tmp_path, form):
    """An input without ids: the cleaned copy gets the run's ids (0-based positions) in an `id` column, as
    single-label apply does, so after a DELETE the later rows keep the ids of scores.csv; a re-audit with
    --id-column id (and, headerless, the id first in --column-names, as apply says) reads the same ids."""
    from collections import Counter

    lines = (GO / "train.tsv").read_text(encoding="utf-8").split("\n")[:200]
    count = Counter(j for line in lines for j in line.split("\t")[1].split(","))
    rows = [line.split("\t")[:2] for line in lines if all(count[j] >= 4 for j in line.split("\t")[1].split(","))]
    if form == "csv":
        path, options = tmp_path / "go.csv", {}
        pd.DataFrame({"text": [t for t, _ in rows],
                      "labels": [",".join(NAMES[int(j)] for j in s.split(",")) for _, s in rows]}).to_csv(
            path, index=False)
    else:
        path, options = tmp_path / "go.tsv", {"column_names": "text,labels", "label_names": str(GO / "emotions.txt")}
        path.write_text("".join(f"{t}\t{s}\n" for t, s in rows), encoding="utf-8")
    run = build_run(path, tmp_path / "run", task="multi-label", signals="none", data=options)
    before = load_multilabel(DataConfig(source=str(path), **options))
    corrections = tmp_path / "fixed.csv"
    pd.DataFrame({"id": [3, 10], "corrected_labels": ["DELETE", "gratitude"]}).to_csv(corrections, index=False)
    proc = run_cli("apply", run, corrections, "--out", tmp_path / "clean")
    assert proc.returncode == 0, proc.stderr
    cleaned = tmp_path / "clean" / path.name
    cleaned = cleaned.with_name("cleaned" + path.suffix)
    kept = [i for i in range(len(rows)) if i != 3]
    if form == "csv":
        assert "Ids are in column 'id': re-audit with --id-column id to keep them." in proc.stdout
        again = DataConfig(source=str(cleaned), id_column="id")
        original = path.read_text(encoding="utf-8").split("\n")
        got = cleaned.read_text(encoding="utf-8").split("\n")
        assert got[0] == "id," + original[0]  # the header names the ids
        # Uncorrected lines as they were, after their id; the relabelled line changes in its label cell only.
        assert [line for i, line in zip(kept, got[1:]) if i != 10] == [f"{i}," + original[i + 1] for i in kept
                                                                     if i != 10]
    else:
        assert ("re-audit with --column-names id,text,labels --id-column id to keep them." in proc.stdout)
        again = DataConfig(source=str(cleaned), column_names="id,text,labels", id_column="id",
                           label_names=str(GO / "emotions.txt"))
        got = cleaned.read_text(encoding="utf-8").split("\n")
        assert [line for i, line in zip(kept, got) if i != 10] == [f"{i}\t{t}\t{s}" for i, (t, s) in enumerate(rows)
                                                                 if i in kept and i != 10]
    after = load_multilabel(again)
    assert [int(x) for x in after.ids] == kept  # the run's ids, not positions counted again
    assert list(after.texts) == [before.texts[i] for i in kept]
    want = [{"gratitude"} if i == 10 else {before.class_names[j] for j in np.flatnonzero(before.labels[i])}
            for i in kept]
    assert [{after.class_names[j] for j in np.flatnonzero(r)} for r in after.labels] == want
