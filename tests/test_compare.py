"""Re-audit: two real small runs (300 emotion rows, tfidf), the second on the cleaned output of `apply`."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import EMOTION_TRAIN, run_cli
from report_helpers import build_run

from auditor.compare import class_noise, compare_results, format_comparison
from auditor.annotate.apply import apply_corrections
from auditor.result import load_run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run A on 300 emotion rows; annotators relabel A's confident suspects and delete two; run B on the
    cleaned file (same ids), with --previous A. Returns (A, B, relabelled ids, deleted ids)."""
    folder = tmp_path_factory.mktemp("compare")
    rows = [line.rsplit(";", 1) for line in EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:300]]
    data = pd.DataFrame(rows, columns=["text", "label"])
    data.insert(0, "id", [f"e{i}" for i in range(len(data))])
    data.to_csv(folder / "emotion300.csv", index=False)
    run_a = build_run(folder / "emotion300.csv", folder / "a", data={"id_column": "id"})
    suspects = pd.read_csv(run_a / "suspects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    confident = suspects["suggested_label_probability"].astype(float) >= 0.5
    suspects.loc[confident, "corrected_label"] = suspects.loc[confident, "suggested_label"]
    deleted = suspects.loc[~confident, "id"].head(2).tolist()
    suspects.loc[suspects["id"].isin(deleted), "corrected_label"] = "DELETE"
    suspects.to_csv(folder / "answers.csv", index=False)
    apply_corrections(run_a, folder / "answers.csv", out=folder / "clean")
    run_b = build_run(folder / "clean" / "cleaned.csv", folder / "b", data={"id_column": "id"}, previous=str(run_a))
    return run_a, run_b, suspects.loc[confident, "id"].tolist(), deleted


def test_suspects_are_resolved_remain_or_new_by_id(two_runs):
    run_a, run_b, relabelled, deleted = two_runs
    a, b = load_run(run_a), load_run(run_b)
    c = compare_results(a, b)
    table = c["table"].assign(id=lambda t: t["id"].astype(str))
    flagged_a = set(a.scores.loc[a.scores["is_label_issue"], "id"].astype(str))
    flagged_b = set(b.scores.loc[b.scores["is_label_issue"], "id"].astype(str))
    assert c["rows"] == (300, 298) and c["shared_ids"] == 298
    assert set(table.loc[table["status"] != "new", "id"]) == flagged_a
    assert set(table.loc[table["status"] != "resolved", "id"]) == flagged_b
    assert table["id"].is_unique
    status = dict(zip(table["id"], zip(table["status"], table["how"])))
    assert all(status[i] == ("resolved", "deleted") for i in deleted)
    assert all(status[i][1] in ("relabelled", "relabelled, still flagged") for i in relabelled)
    assert c["counts"]["resolved"] >= len(relabelled) // 2, "most confident relabels must clear the flag"
    assert c["accuracy"] == (a.metrics["accuracy"], b.metrics["accuracy"])
    assert [n["class"] for n in c["noise"]] == list(a.class_names)


def test_class_noise_is_cleanlabs_estimate_per_given_class():
    from auditor.metrics import noise_estimate

    labels = [0] * 50 + [1] * 50
    probs = [[0.9, 0.1]] * 40 + [[0.1, 0.9]] * 10 + [[0.1, 0.9]] * 50
    noise = class_noise(noise_estimate(labels, probs, ["x", "y"])["joint"], ["x", "y"])
    assert noise["x"] == pytest.approx(0.2, abs=0.05) and noise["y"] == pytest.approx(0.0, abs=0.05)
    assert class_noise(None, ["x", "y"]) == {"x": None, "y": None}


def test_compare_cli_and_the_previous_section_in_the_report(two_runs, tmp_path):
    run_a, run_b, _, _ = two_runs
    done = run_cli("compare", run_a, run_b, "--out", tmp_path / "status.csv")
    assert done.returncode == 0, done.stderr
    expected = format_comparison(compare_results(load_run(run_a), load_run(run_b)), str(run_a), str(run_b))
    assert expected in done.stdout and "resolved" in done.stdout
    status = pd.read_csv(tmp_path / "status.csv")
    assert set(status["status"]) <= {"resolved", "remains", "new"} and "deleted" in set(status["how"])
    html = (run_b / "report.html").read_text(encoding="utf-8")
    assert 'id="previous"' in html and "Compared with the previous run" in html and "resolved" in html
    assert 'id="previous"' not in (run_a / "report.html").read_text(encoding="utf-8")


def test_compare_of_a_missing_run_is_one_line(tmp_path, two_runs):
    done = run_cli("compare", two_runs[0], tmp_path / "nope")
    assert done.returncode == 2 and done.stderr.startswith("auditor: error: ") and done.stderr.count("\n") == 1
    assert "no such run folder" in done.stderr
