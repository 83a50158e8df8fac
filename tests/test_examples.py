"""The examples run, so they cannot rot: the plain script and the notebook, on a small slice."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT


def test_example_script(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "examples/audit_emotion.py", "--limit", "400", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "relabelled 5, deleted 1, 399 rows left" in proc.stdout
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000
    changes = pd.read_csv(tmp_path / "cleaned" / "changes.csv", encoding="utf-8-sig")
    assert sorted(changes["change"]) == ["deleted"] + ["relabelled"] * 5
    assert len((tmp_path / "cleaned" / "cleaned.txt").read_text().splitlines()) == 399


def test_example_notebook(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("AUDITOR_EXAMPLE_LIMIT", "400")
    monkeypatch.setenv("AUDITOR_EXAMPLE_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    notebook = nbformat.read(ROOT / "examples" / "audit_emotion.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), "outputs must be cleared"
    nbclient.NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    html = [o["data"]["text/html"] for c in notebook.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert any("suspected label issues" in h for h in html)  # the AuditResult displayed itself
    assert (tmp_path / "cleaned" / "changes.csv").is_file()
