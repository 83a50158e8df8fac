"""Relabelling a multi-label run inside report.html (headless Chromium): label toggles, the suggested set,
delete, undo, reload, download, `auditor apply` on the download, and loading a filled CSV back."""

from __future__ import annotations

import base64
import csv
import hashlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from report_helpers import build_run
from test_multilabel import GO, NAMES
from test_report import _open, browser  # noqa: F401 (the module's headless Chromium fixture)

from auditor.errors import DataError
from auditor.multilabel.export import SUSPECT_COLUMNS, write_suspects

pytestmark = pytest.mark.skipif(GO is None, reason="GoEmotions not found under ../shared or /work/shared")
COLUMNS = ["text", "labels", "id"]


@pytest.fixture(scope="module")
def go_run(tmp_path_factory) -> Path:
    """300 GoEmotions rows (headerless TSV of label ids, string ids) audited with tfidf, 3 folds."""
    folder = tmp_path_factory.mktemp("go-relabel")
    lines = (GO / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)[:300]
    (folder / "go.tsv").write_text("".join(lines), encoding="utf-8")
    return build_run(folder / "go.tsv", folder / "run", task="multi-label", data={
        "column_names": ",".join(COLUMNS), "label_names": str(GO / "emotions.txt"), "id_column": "id"})


def _read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=COLUMNS, quoting=csv.QUOTE_NONE, dtype=str)


def _suspects(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "suspects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _states(page) -> list[str]:
    return page.eval_on_selector_all("#table-suspects tbody tr[data-row] td.decision .state",
                                     "cells => cells.map(c => c.textContent)")


def _pressed(page, at: int) -> set[str]:
    """The labels whose toggle is pressed on the `at`-th row of the page."""
    return set(page.eval_on_selector_all(
        f"#table-suspects tbody tr[data-row]:nth-of-type({at + 1}) button.label-toggle[aria-pressed=true]",
        "bs => bs.map(b => b.textContent.replace(/^\\d+ /, ''))"))


def _press_label(page, name: str) -> None:
    """A label's number; 1 and 2 wait for a second digit (labels 10-28 exist), so Enter confirms them."""
    number = str(NAMES.index(name) + 1)
    for key in number:
        page.keyboard.press(key)
    if number in ("1", "2"):
        page.keyboard.press("Enter")


def _split(text: str) -> set[str]:
    return {p for p in text.split(",") if p}


def test_toggle_accept_delete_reload_download_apply(browser, go_run, tmp_path):  # noqa: F811
    suspects = _suspects(go_run)
    given = [_split(t) for t in suspects["given_labels"]]
    suggested = [_split(t) for t in suspects["suggested_labels"]]
    page, events = _open(browser, go_run)
    page.select_option("#table-suspects select[data-page-size]", "50")
    # The first row starts from its given set, the suggested changes marked on its toggles.
    assert _pressed(page, 0) == given[0]
    adds = page.eval_on_selector_all("#table-suspects tbody tr[data-row]:first-of-type button.suggest-add",
                                     "bs => bs.map(b => b.textContent.replace(/^\\d+ /, ''))")
    assert set(adds) == suggested[0] - given[0]

    # Row 0, keyboard only: add two labels, take one of the given away (never the last one).
    extra = [n for n in ("gratitude", "curiosity", "love") if n not in given[0]][:2]
    for name in extra:
        _press_label(page, name)
    dropped = sorted(given[0])[0]
    _press_label(page, dropped)
    expect0 = (given[0] | set(extra)) - {dropped}
    assert _pressed(page, 0) == expect0 and _states(page)[0] == "\u2192 " + ",".join(
        n for n in NAMES if n in expect0)
    page.keyboard.press("n")
    page.keyboard.type('toggled, "by keys"')
    page.keyboard.press("Enter")
    # An empty set cannot be written (apply reads a blank as keep): taking the last label away is refused.
    single = next(i for i in range(1, len(given)) if len(given[i]) == 1 and suggested[i] != given[i])
    for _ in range(single):
        page.keyboard.press("j")
    _press_label(page, next(iter(given[single])))
    assert "keeps at least one label" in page.text_content("[data-relabel-message]")
    assert _states(page)[single] == "undecided"
    page.keyboard.press("2")
    page.keyboard.press("9")  # 28 labels: nothing toggles
    assert "No label 29 (1–28)" in page.text_content("[data-relabel-message]")
    assert _states(page)[single] == "undecided"
    # a: the suggested set (and on to the next row); d: delete it; s then u: skipped, then undone.
    page.keyboard.press("a")
    page.keyboard.press("d")
    page.keyboard.press("s")
    assert _states(page)[single + 2] == "skipped"
    page.keyboard.press("u")
    # A click on a marked toggle: a suggested addition of a later row.
    later = next(i for i in range(single + 3, len(given)) if suggested[i] - given[i])
    added = sorted(suggested[later] - given[later])[0]
    page.click(f"#table-suspects tbody tr[data-row]:nth-of-type({later + 1}) button.suggest-add >> text={added}")
    expected = {
        suspects["id"][0]: expect0,
        suspects["id"][single]: suggested[single],
        suspects["id"][single + 1]: None,
        suspects["id"][later]: given[later] | {added},
    }
    states = _states(page)
    assert states[single + 2] == "undecided"
    progress = page.text_content("[data-progress]")
    assert progress.startswith(f"Reviewed 4 of {len(suspects)} · relabelled 3 · kept 0 · deleted 1"), progress

    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    page.select_option("#table-suspects select[data-page-size]", "50")
    assert page.text_content("[data-progress]") == progress and _states(page) == states
    assert _pressed(page, 0) == expect0 and _pressed(page, later) == given[later] | {added}
    assert page.input_value("#table-suspects tbody tr[data-row] input[data-note]") == 'toggled, "by keys"'

    with page.expect_download() as download:
        page.click("[data-action=download]")
    path = tmp_path / "corrections.csv"
    download.value.save_as(path)
    got = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(got.columns) == SUSPECT_COLUMNS
    for column in SUSPECT_COLUMNS:
        if column in ("corrected_labels", "note"):
            continue
        if column in ("rank", "label_quality_score"):
            np.testing.assert_allclose(got[column].astype(float), suspects[column].astype(float))
        else:
            assert got[column].tolist() == suspects[column].tolist(), column
    filled = got[got["corrected_labels"] != ""]
    assert dict(zip(filled["id"], filled["corrected_labels"])) == {
        k: "DELETE" if v is None else ",".join(n for n in NAMES if n in v) for k, v in expected.items()}
    assert filled["note"].tolist() == ['toggled, "by keys"', "", "", ""]

    done = run_cli("apply", go_run, path, "--out", tmp_path / "applied")
    assert done.returncode == 0, done.stderr
    original = _read_tsv(go_run.parent / "go.tsv")
    cleaned = _read_tsv(tmp_path / "applied" / "cleaned.tsv")
    deleted = {k for k, v in expected.items() if v is None}
    assert cleaned["id"].tolist() == [i for i in original["id"] if i not in deleted]
    want = original[~original["id"].isin(deleted)].set_index("id")
    for key, labels in expected.items():
        if labels is not None:
            want.loc[key, "labels"] = ",".join(str(NAMES.index(n)) for n in NAMES if n in labels)
    pd.testing.assert_frame_equal(cleaned.set_index("id"), want)
    changes = pd.read_csv(tmp_path / "applied" / "changes.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert set(changes["id"]) == set(expected) and (changes["change"] == "deleted").sum() == 1
    assert dict(zip(changes["id"], changes["note"])) == {k: 'toggled, "by keys"' if k == suspects["id"][0] else ""
                                                        for k in expected}
    assert "3 relabelled, 1 deleted" in done.stdout and "1 note(s)" in done.stdout
    assert events["errors"] == [] and events["dialogs"] == [] and events["blocked"] == []
    assert all(u.startswith(("file:", "data:", "blob:")) for u in events["requests"])
    page.close()

    # The downloaded file loaded into a fresh browser restores every toggle; a wrong label loads nothing.
    page, events = _open(browser, go_run)
    page.select_option("#table-suspects select[data-page-size]", "50")
    bad = got.copy()
    bad.loc[5, "corrected_labels"] = "joy,happiness"
    with open(tmp_path / "bad.csv", "wb") as handle:
        write_suspects(bad, handle)
    page.set_input_files("input[data-load]", str(tmp_path / "bad.csv"))
    from playwright.sync_api import expect

    message = page.locator("[data-relabel-message]")  # the file is read asynchronously: wait for its message
    expect(message).to_contain_text("row 7: corrected_labels 'joy,happiness' is not a set of labels joined by ','")
    assert page.text_content("[data-progress]").startswith("Reviewed 0 ")
    page.set_input_files("input[data-load]", str(path))
    expect(message).to_contain_text("Loaded 4 decision(s)")
    assert _states(page) == states and page.text_content("[data-progress]") == progress
    assert _pressed(page, 0) == expect0 and _pressed(page, single) == suggested[single]
    assert events["errors"] == []
    page.close()


class _Page(HTMLParser):
    """Every on* attribute, the CSP meta and the scripts' text."""

    def __init__(self):
        super().__init__()
        self.handlers, self.scripts, self.csp, self._in_script = [], [], None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [(tag, name) for name in attrs if name.lower().startswith("on")]
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
            self.csp = attrs["content"]
        if tag == "script":
            self.scripts.append("")
            self._in_script = True

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def test_multilabel_report_keeps_the_strict_csp(go_run):
    """No inline handler anywhere; the one script runs by its hash; nothing else may load or run."""
    html = (go_run / "report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    assert page.handlers == [] and len(page.scripts) == 2
    digest = base64.b64encode(hashlib.sha256(page.scripts[1].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page.csp
    assert "default-src 'none'" in page.csp and "unsafe" not in page.csp
    assert 'id="relabel"' in html and "corrected_labels" in html


def _notes(folder: Path) -> dict:
    """changes.csv's non-empty notes by id."""
    table = pd.read_csv(folder / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return {i: n for i, n in zip(table["id"], table["note"]) if n}


def _applied(go_run, answers, out: Path, fmt=None) -> pd.DataFrame:
    """`auditor apply` in process (the CLI's own path is tested above): the cleaned copy."""
    from auditor.annotate.apply import apply_corrections

    apply_corrections(go_run, answers, out=out, fmt=fmt)
    return _read_tsv(out / "cleaned.tsv")


def _expected_clean(go_run, changes: dict) -> pd.DataFrame:
    """The input with `changes` ({id: set of names, or None = drop}) made and nothing else."""
    want = _read_tsv(go_run.parent / "go.tsv")
    want = want[~want["id"].isin([k for k, v in changes.items() if v is None])].reset_index(drop=True)
    for key, names in changes.items():
        if names is not None:
            want.loc[want["id"] == key, "labels"] = ",".join(str(NAMES.index(n)) for n in NAMES if n in names)
    return want


def test_label_studio_and_argilla_round_trip_label_sets(go_run, tmp_path):
    """Export with the suggested set pre-selected (multiple choices), answer as each tool's export
    writes answers, apply: exactly those sets and deletions; a bad label or a disagreement is one line."""
    import json
    import xml.etree.ElementTree as ET

    from auditor.annotate.formats import export_run, read_table

    from auditor import load_run
    from auditor.multilabel.export import suspects_frame

    suspects = suspects_frame(load_run(go_run).scores, top=6)  # what `export --top 6` writes
    ids = suspects["id"].tolist()
    given = [_split(t) for t in suspects["given_labels"]]
    new0 = (given[0] | {"gratitude"}) - ({sorted(given[0])[0]} if len(given[0]) > 1 else set())

    paths, rows = export_run(go_run, "label-studio", top=6, out=tmp_path / "ls_tasks.json")
    tasks = json.loads(paths[0].read_text(encoding="utf-8"))
    assert rows == 6 and [t["data"]["auditor_id"] for t in tasks] == ids
    assert [set(t["predictions"][0]["result"][0]["value"]["choices"]) if "predictions" in t else set()
            for t in tasks] == [_split(t) for t in suspects["suggested_labels"]]
    assert all("score" not in t.get("predictions", [{}])[0] for t in tasks)
    assert tasks[0]["data"]["given_labels"] == suspects["given_labels"][0]
    choices = ET.fromstring(paths[1].read_text(encoding="utf-8")).find("Choices")
    assert choices.get("choice") == "multiple" and [c.get("value") for c in choices] == [*NAMES, "DELETE"]

    def annotate(task, chosen, cancelled=False):
        task["annotations"] = [{"id": 1, "was_cancelled": cancelled, "result": [
            {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": chosen}}]}]

    annotate(tasks[0], sorted(new0))
    annotate(tasks[1], ["DELETE"])
    annotate(tasks[2], sorted(given[2]))  # the given set: kept
    annotate(tasks[3], ["joy"], cancelled=True)  # skipped in Label Studio: kept
    (tmp_path / "ls_export.json").write_text(json.dumps(tasks), encoding="utf-8")
    cleaned = _applied(go_run, tmp_path / "ls_export.json", tmp_path / "ls")
    pd.testing.assert_frame_equal(cleaned, _expected_clean(go_run, {ids[0]: new0, ids[1]: None}))

    tasks[4]["annotations"] = [{"result": [{"from_name": "label", "value": {"choices": ["joy", "happiness"]}}]}]
    (tmp_path / "bad.json").write_text(json.dumps(tasks), encoding="utf-8")
    done = run_cli("apply", go_run, tmp_path / "bad.json", "--out", tmp_path / "bad")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "row 5: corrected_labels 'joy,happiness': label 'happiness' is not a label" in done.stderr
    assert not (tmp_path / "bad").exists()
    # JSON-MIN: one flat object per task, several choices as {"choices": [...]}.
    minimal = [{"auditor_id": ids[0], "label": {"choices": sorted(new0)}}, {"auditor_id": ids[5], "label": "joy"}]
    (tmp_path / "min.json").write_text(json.dumps(minimal), encoding="utf-8")
    _, table = read_table(tmp_path / "min.json", separator=",")
    assert table["corrected_label"].tolist() == [",".join(sorted(new0)), "joy"]

    paths, _ = export_run(go_run, "argilla", top=6, out=tmp_path / "records.json")
    records = json.loads(paths[0].read_text(encoding="utf-8"))
    assert [r["id"] for r in records] == ids and records[0]["fields"]["given_labels"] == suspects["given_labels"][0]
    assert set(records[0]["suggestions"]["label"]["value"]) == _split(suspects["suggested_labels"][0])
    script = paths[1].read_text(encoding="utf-8")
    compile(script, str(paths[1]), "exec")
    assert "rg.MultiLabelQuestion(name='label'" in script and 'rg.TextField(name="given_labels")' in script
    users = ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"]
    records[0]["responses"] = {"label": [{"value": sorted(new0), "user_id": users[0]},
                                         {"value": sorted(new0, reverse=True), "user_id": users[1]}]}
    records[3]["responses"] = {"label": [{"value": ["DELETE"], "user_id": users[0]}]}
    records[4]["responses"] = {"label": [{"value": ["joy"], "user_id": users[0]},
                                         {"value": ["joy", "love"], "user_id": users[1]}]}
    (tmp_path / "answers.json").write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(DataError, match="record 5: annotators disagree"):
        _applied(go_run, tmp_path / "answers.json", tmp_path / "ar")
    assert not (tmp_path / "ar").exists()
    records[4]["responses"] = {}
    (tmp_path / "answers.json").write_text(json.dumps(records), encoding="utf-8")
    cleaned = _applied(go_run, tmp_path / "answers.json", tmp_path / "ar", fmt="argilla")
    pd.testing.assert_frame_equal(cleaned, _expected_clean(go_run, {ids[0]: new0, ids[3]: None}))


@pytest.mark.slow
@pytest.mark.labelstudio
def test_label_sets_round_trip_through_the_real_label_studio(go_run, tmp_path):
    """Our multiple-choice config and tasks in a real Label Studio: predictions imported, two tasks
    annotated (a new set; DELETE), its JSON export applied."""
    import json
    import urllib.request

    from test_formats import LS_VENV, _api, label_studio

    from auditor.annotate.formats import export_run

    if not (LS_VENV / "bin" / "label-studio").exists():
        pytest.skip(f"no Label Studio venv at {LS_VENV}")
    paths, _ = export_run(go_run, "label-studio", top=8, out=tmp_path / "label_studio_tasks.json")
    tasks = json.loads(paths[0].read_text(encoding="utf-8"))
    first, second = tasks[0]["data"], tasks[1]["data"]
    new = (_split(first["given_labels"]) | {"gratitude", "love"}) - {sorted(_split(first["given_labels"]))[0]}
    with label_studio(tmp_path) as (base, token):
        project = _api(base, token, "POST", "/api/projects",
                       {"title": "auditor multi-label", "label_config": paths[1].read_text(encoding="utf-8")})
        _api(base, token, "POST", f"/api/projects/{project['id']}/import", tasks)
        listed = _api(base, token, "GET", f"/api/tasks?project={project['id']}&page_size=100")
        listed = listed["tasks"] if isinstance(listed, dict) else listed
        assert len(listed) == 8
        assert sum(t["total_predictions"] for t in listed) == sum("predictions" in t for t in tasks)
        by_id = {t["data"]["auditor_id"]: t for t in listed}
        for data, chosen, note in ((first, sorted(new), "two more emotions"), (second, ["DELETE"], "")):
            result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": chosen}}]
            if note:
                result.append({"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [note]}})
            _api(base, token, "POST", f"/api/tasks/{by_id[data['auditor_id']]['id']}/annotations",
                 {"result": result, "was_cancelled": False})
        request = urllib.request.Request(
            f"{base}/api/projects/{project['id']}/export?exportType=JSON&download_all_tasks=true",
            headers={"Authorization": f"Token {token}"})
        with urllib.request.urlopen(request, timeout=300) as response:
            (tmp_path / "exported.json").write_bytes(response.read())
    cleaned = _applied(go_run, tmp_path / "exported.json", tmp_path / "out")
    pd.testing.assert_frame_equal(cleaned, _expected_clean(go_run, {first["auditor_id"]: new,
                                                                    second["auditor_id"]: None}))
    assert _notes(tmp_path / "out") == {first["auditor_id"]: "two more emotions"}


ARGILLA_ANNOTATE = """
import json, sys, uuid
import argilla as rg
from argilla.records._io._generic import GenericIO

records = [rg.Record.from_dict(r) for r in json.load(open(sys.argv[1], encoding="utf-8"))]
annotator = uuid.UUID(int=7)
records[0].responses.add(rg.Response("label", json.loads(sys.argv[3]), user_id=annotator, status="submitted"))
records[0].responses.add(rg.Response("note", "one more emotion", user_id=annotator, status="submitted"))
records[1].responses.add(rg.Response("label", ["DELETE"], user_id=annotator, status="submitted"))
with open(sys.argv[2], "w") as f:
    json.dump(GenericIO.to_list(records, flatten=False), f)
"""


@pytest.mark.argilla
def test_label_sets_round_trip_through_the_argilla_sdk(go_run, tmp_path):
    """Our records load with the SDK's Record.from_dict (list suggestions); what it writes after two
    multi-label answers applies."""
    import json
    import os
    import subprocess

    from test_formats import ARGILLA_VENV

    from auditor.annotate.formats import export_run

    if not (ARGILLA_VENV / "bin" / "python").exists():
        pytest.skip(f"no Argilla SDK venv at {ARGILLA_VENV}")
    paths, _ = export_run(go_run, "argilla", top=8, out=tmp_path / "records.json")
    records = json.loads(paths[0].read_text(encoding="utf-8"))
    given = _split(records[0]["fields"]["given_labels"])
    new = given | {next(n for n in ("gratitude", "love", "joy") if n not in given)}
    script = tmp_path / "annotate.py"
    script.write_text(ARGILLA_ANNOTATE, encoding="utf-8")
    made = subprocess.run([str(ARGILLA_VENV / "bin" / "python"), str(script), str(paths[0]),
                           str(tmp_path / "answers.json"), json.dumps(sorted(new))],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=""))
    assert made.returncode == 0, made.stderr
    cleaned = _applied(go_run, tmp_path / "answers.json", tmp_path / "out")
    pd.testing.assert_frame_equal(cleaned, _expected_clean(go_run, {records[0]["id"]: new, records[1]["id"]: None}))
    assert _notes(tmp_path / "out") == {records[0]["id"]: "one more emotion"}
