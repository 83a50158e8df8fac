"""Annotation formats: export for Label Studio and Argilla, read each tool's own export back through `apply`.

The default tests use small files the real tools wrote (tests/data/formats/, see its README); the tests
marked `labelstudio` and `argilla` drive the tools themselves and skip when their virtual environments
are absent (README, "Annotation tools").
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, easy_dataset, plant_flips, run_cli
from report_helpers import build_run

from auditor.annotate.apply import apply_corrections
from auditor.annotate.formats import FORMAT_NAMES, detect_format, export_run, get_format, read_table
from auditor.annotate.formats.label_studio import EVIDENCE
from auditor.errors import DataError, RunDirError
from auditor.annotate.export import suspects_frame
from auditor.result import load_run

FIXTURES = ROOT / "tests" / "data" / "formats"
# What the annotators decided in the committed exports (made by tests/data/formats/README's commands).
FIXTURE_CHANGES = {"r007": ("relabelled", "tech"), "r010": ("deleted", "")}
LS_VENV = Path(os.environ.get("AUDITOR_LS_VENV", ROOT.parent / "ls-venv"))
ARGILLA_VENV = Path(os.environ.get("AUDITOR_ARGILLA_VENV", ROOT / ".venv-argilla"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """The easy 180-row CSV with ids r000..r179 and 9 planted flips, audited with tfidf."""
    noisy, _ = plant_flips(easy_dataset(), 9)
    noisy.insert(0, "key", [f"r{i:03d}" for i in range(len(noisy))])
    noisy.loc[0, "text"] = '<script>alert(1)</script> "quoted" =1+1 pizza'
    folder = tmp_path_factory.mktemp("formats")
    noisy.to_csv(folder / "input.csv", index=False)
    return build_run(folder / "input.csv", folder / "run", data={"id_column": "key"})


def _changes(folder: Path) -> dict:
    table = pd.read_csv(folder / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return {i: (c, n) for i, c, n in zip(table["id"], table["change"], table["new_label"])}


def _notes(folder: Path) -> dict:
    """changes.csv's non-empty notes by id."""
    table = pd.read_csv(folder / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return {i: n for i, n in zip(table["id"], table["note"]) if n}


def test_every_format_is_one_registered_module():
    assert FORMAT_NAMES == ("csv", "label-studio", "argilla")
    for name in FORMAT_NAMES:
        module = get_format(name)
        assert module.NAME == name
        assert all(callable(getattr(module, f)) for f in ("write", "read", "matches"))
        assert isinstance(module.DEFAULT_NAME, str) and isinstance(module.NEXT_STEPS, str)


def test_label_studio_tasks_carry_our_id_and_the_suggestion_as_a_prediction(run_dir, tmp_path):
    done = run_cli("export", run_dir, "--format", "label-studio", "--top", 20, "--out", tmp_path / "tasks.json")
    assert done.returncode == 0, done.stderr
    assert "(20 rows, most suspect first)" in done.stdout and "Settings > Labeling Interface" in done.stdout
    paths = [tmp_path / "tasks.json", tmp_path / "tasks.config.xml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.config.xml", "tasks.json"]
    tasks = json.loads(paths[0].read_text(encoding="utf-8"))
    scores = pd.read_csv(run_dir / "scores.csv", dtype={"id": str}).sort_values("rank").head(20)
    assert [t["data"]["auditor_id"] for t in tasks] == scores["id"].tolist()
    first, top = tasks[0], scores.iloc[0]
    prediction = first["predictions"][0]
    assert prediction["model_version"] == "run"
    assert prediction["score"] == pytest.approx(top["suggested_label_probability"], abs=1e-4)
    assert prediction["result"] == [{"from_name": "label", "to_name": "text", "type": "choices",
                                     "value": {"choices": [top["suggested_label"]]}}]
    columns = set(suspects_frame(load_run(run_dir).scores).columns)
    assert set(first["data"]) == columns - {"id", "corrected_label", "note"} | {"auditor_id"}
    assert first["data"]["given_label"] == top["given_label"]
    config = paths[1].read_text(encoding="utf-8")
    for name in ("sport", "food", "tech", "DELETE"):
        assert f'<Choice value="{name}"/>' in config
    assert 'name="label" toName="text"' in config and '<TextArea name="note"' in config
    assert all(f'value="${c}"' in config for c in EVIDENCE if c in columns)


def test_label_studio_config_escapes_class_names():
    from xml.etree import ElementTree

    from auditor.annotate.formats.label_studio import labeling_config

    hostile = ['a"><script>x</script>', "b&c", "<d>"]
    root = ElementTree.fromstring(labeling_config(hostile))
    assert [c.get("value") for c in root.iter("Choice")] == [*hostile, "DELETE"]


def test_argilla_records_have_the_suggestion_and_scores_as_metadata(run_dir, tmp_path):
    paths, rows = export_run(run_dir, "argilla", top=5, out=tmp_path / "records.json")
    assert [p.name for p in paths] == ["records.json", "records_dataset.py"]
    records = json.loads(paths[0].read_text(encoding="utf-8"))
    first = records[0]
    assert set(first) == {"id", "fields", "metadata", "suggestions", "responses", "vectors", "status", "_server_id"}
    assert first["id"] == first["metadata"]["auditor_id"]
    assert {"text", "given_label"} <= set(first["fields"]) <= {"text", "given_label", *EVIDENCE}
    assert first["suggestions"]["label"]["agent"] == "run" and 0 < first["suggestions"]["label"]["score"] <= 1
    columns = set(suspects_frame(load_run(run_dir).scores).columns)
    shown = {"id", "text", "given_label", "corrected_label", "note", *EVIDENCE}
    assert set(first["metadata"]) == columns - shown | {"auditor_id"}
    script = paths[1].read_text(encoding="utf-8")
    compile(script, str(paths[1]), "exec")
    assert "labels=['food', 'sport', 'tech', 'DELETE']" in script
    assert all(f"rg.TextField(name={c!r}" in script for c in EVIDENCE if c in columns)


@pytest.mark.parametrize("name, fmt", [("label_studio_export.json", "label-studio"),
                                       ("label_studio_export_min.json", "label-studio"),
                                       ("argilla_records.json", "argilla")])
def test_tool_exports_are_detected_and_applied(run_dir, tmp_path, name, fmt):
    path = FIXTURES / name
    assert detect_format(path) == fmt
    _, table = read_table(path)
    assert list(table.columns[:3]) == ["id", "corrected_label", "note"]
    out = tmp_path / "out"
    done = apply_corrections(run_dir, path, out=out)  # detected; the CLI path is in the tests below
    assert (done["relabelled"], done["deleted"]) == (1, 1)
    assert _changes(out) == FIXTURE_CHANGES
    cleaned = pd.read_csv(out / "cleaned.csv", dtype=str, keep_default_na=False)
    assert len(cleaned) == 179 and "r010" not in set(cleaned["key"])
    assert cleaned.set_index("key").at["r007", "label"] == "tech"


def test_a_tool_export_is_validated_as_a_csv_is(run_dir, tmp_path):
    tasks = json.loads((FIXTURES / "label_studio_export.json").read_text(encoding="utf-8"))
    tasks[1]["data"]["auditor_id"] = "no-such-id"
    tasks[2]["annotations"][0]["result"][0]["value"]["choices"] = ["happy"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tasks), encoding="utf-8")
    done = run_cli("apply", run_dir, bad, "--out", tmp_path / "out")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "row 2: id 'no-such-id' is not in the run" in done.stderr and "1 more row" in done.stderr
    assert not (tmp_path / "out").exists()


def test_reading_errors_are_one_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"data": ', encoding="utf-8")
    with pytest.raises(DataError, match="cannot be read as Label Studio JSON"):
        read_table(broken, "label-studio")
    other = tmp_path / "other.json"
    other.write_text('[{"x": 1}]', encoding="utf-8")
    with pytest.raises(DataError, match="neither a Label Studio JSON export nor Argilla records"):
        read_table(other)
    disagree = json.loads((FIXTURES / "argilla_records.json").read_text(encoding="utf-8"))
    answered = next(r for r in disagree if r["responses"].get("label"))
    answered["responses"]["label"].append({"value": "sport", "user_id": "someone-else"})
    path = tmp_path / "disagree.json"
    path.write_text(json.dumps(disagree), encoding="utf-8")
    with pytest.raises(DataError, match="annotators disagree"):
        read_table(path)


def test_export_never_replaces_a_file_holding_annotations(run_dir, tmp_path):
    target = tmp_path / "tasks.json"
    shutil.copy(FIXTURES / "label_studio_export.json", target)
    before = target.read_bytes()
    with pytest.raises(RunDirError, match="already holds annotations"):
        export_run(run_dir, "label-studio", out=target)
    assert target.read_bytes() == before


# ------------------------------------------------------------------------------------- the real tools


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


@contextmanager
def label_studio(tmp_path: Path):
    """A Label Studio server on a fresh database in `tmp_path`: yields (base URL, API token); stopped on exit."""
    port, token = _free_port(), "auditortesttoken0123456789"
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LABEL_STUDIO_BASE_DATA_DIR=str(tmp_path / "ls-data"), LATEST_VERSION_CHECK="false",
               SENTRY_DSN="", FRONTEND_SENTRY_DSN="", PYTHONPATH="")
    log = open(tmp_path / "label-studio.log", "w")
    server = subprocess.Popen(
        [str(LS_VENV / "bin" / "label-studio"), "start", "--no-browser", "--port", str(port), "--username",
         "auditor@example.com", "--password", "auditor-pass-123", "--user-token", token,
         "--enable-legacy-api-token"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "label-studio.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Label Studio did not serve /health within 10 minutes"
            time.sleep(2)
        yield base, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
@pytest.mark.labelstudio
@pytest.mark.skipif(not (LS_VENV / "bin" / "label-studio").exists(), reason=f"no Label Studio venv at {LS_VENV}")
def test_label_studio_round_trip_with_the_real_server(run_dir, tmp_path):
    """Start Label Studio, create a project with our config, import our tasks, annotate two, export, apply."""
    paths, _ = export_run(run_dir, "label-studio", top=10, out=tmp_path / "label_studio_tasks.json")
    with label_studio(tmp_path) as (base, token):
        config = paths[1].read_text(encoding="utf-8")
        project = _api(base, token, "POST", "/api/projects", {"title": "auditor", "label_config": config})
        tasks = json.loads(paths[0].read_text(encoding="utf-8"))
        _api(base, token, "POST", f"/api/projects/{project['id']}/import", tasks)
        listed = _api(base, token, "GET", f"/api/tasks?project={project['id']}&page_size=100")
        listed = listed["tasks"] if isinstance(listed, dict) else listed
        assert len(listed) == 10 and all(t["total_predictions"] == 1 for t in listed)
        by_id = {t["data"]["auditor_id"]: t for t in listed}
        first, second = tasks[0]["data"], tasks[1]["data"]
        other = next(c for c in ("sport", "food", "tech") if c not in (first["given_label"], first["suggested_label"]))
        for data, choice, note in ((first, other, "annotator's own label"), (second, "DELETE", "a duplicate post")):
            result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}]
            if note:
                result.append({"from_name": "note", "to_name": "text", "type": "textarea",
                               "value": {"text": [note]}})
            _api(base, token, "POST", f"/api/tasks/{by_id[data['auditor_id']]['id']}/annotations",
                 {"result": result, "was_cancelled": False})
        request = urllib.request.Request(
            f"{base}/api/projects/{project['id']}/export?exportType=JSON&download_all_tasks=true",
            headers={"Authorization": f"Token {token}"})
        export = tmp_path / "exported.json"
        with urllib.request.urlopen(request, timeout=300) as response:
            export.write_bytes(response.read())
    out = tmp_path / "out"
    done = run_cli("apply", run_dir, export, "--out", out)
    assert done.returncode == 0, done.stderr
    assert _changes(out) == {first["auditor_id"]: ("relabelled", other), second["auditor_id"]: ("deleted", "")}
    assert _notes(out) == {first["auditor_id"]: "annotator's own label", second["auditor_id"]: "a duplicate post"}


ARGILLA_ANNOTATE = """
import json, sys, uuid
import argilla as rg
from argilla.records._io._generic import GenericIO

records = [rg.Record.from_dict(r) for r in json.load(open(sys.argv[1], encoding="utf-8"))]
annotator = uuid.UUID(int=7)
records[0].responses.add(rg.Response("label", sys.argv[3], user_id=annotator, status="submitted"))
records[0].responses.add(rg.Response("note", "checked twice", user_id=annotator, status="submitted"))
records[1].responses.add(rg.Response("label", "DELETE", user_id=annotator, status="submitted"))
with open(sys.argv[2], "w") as f:
    json.dump(GenericIO.to_list(records, flatten=False), f)
"""


@pytest.mark.argilla
@pytest.mark.skipif(not (ARGILLA_VENV / "bin" / "python").exists(), reason=f"no Argilla SDK venv at {ARGILLA_VENV}")
def test_argilla_sdk_records_round_trip(run_dir, tmp_path):
    """Our records load with the SDK's Record.from_dict; what its to_json writes after annotation applies."""
    paths, _ = export_run(run_dir, "argilla", top=10, out=tmp_path / "records.json")
    records = json.loads(paths[0].read_text(encoding="utf-8"))
    other = next(c for c in ("sport", "food", "tech")
                 if c not in (records[0]["fields"]["given_label"], records[0]["suggestions"]["label"]["value"]))
    answers = tmp_path / "answers.json"
    script = tmp_path / "annotate.py"
    script.write_text(ARGILLA_ANNOTATE, encoding="utf-8")
    made = subprocess.run([str(ARGILLA_VENV / "bin" / "python"), str(script), str(paths[0]), str(answers), other],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=""))
    assert made.returncode == 0, made.stderr
    out = tmp_path / "out"
    done = run_cli("apply", run_dir, answers, "--out", out)
    assert done.returncode == 0, done.stderr
    assert _changes(out) == {records[0]["id"]: ("relabelled", other), records[1]["id"]: ("deleted", "")}
    assert _notes(out) == {records[0]["id"]: "checked twice"}
