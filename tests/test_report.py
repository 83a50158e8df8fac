"""The HTML report: structure, escaping of hostile data, no external loads, and its behaviour in Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from browser import chromium
from browser import missing as browser_missing
from conftest import easy_dataset, plant_flips, run_cli
from report_helpers import HOSTILE_CLASS, HOSTILE_TEXTS, build_run

from auditor import plots
from auditor.report.html import render_report
from auditor.scoring.registry import Section, sections
from auditor.result import load_run

SECTIONS = ["summary", "confusion", "distribution", "suspects", "highest-loss", "lowest-loss"]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    """180 easy rows, 9 planted flips; some texts and one class name are XSS attempts; one text is 5,000 chars."""
    frame, flipped = plant_flips(easy_dataset(), 9)
    others = [i for i in range(len(frame)) if i not in set(flipped)]
    for row, text in zip(others, HOSTILE_TEXTS):
        frame.at[row, "text"] = text
    frame.at[others[len(HOSTILE_TEXTS)], "text"] = "pizza " * 834
    frame["label"] = frame["label"].replace({"food": HOSTILE_CLASS})
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / 'data "<b>x.csv'
    frame.to_csv(path, index=False)
    return build_run(path, folder / "run")


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.ids, self.scripts, self._in_script, self.text = [], set(), [], None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "script":
            self._in_script = [attrs, ""]

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append(tuple(self._in_script))
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script[1] += data
        else:
            self.text.append(data)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser


def test_report_has_every_section_and_real_figures(hostile_run):
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    page = _parse(html)
    assert set(SECTIONS) <= page.ids
    result = load_run(hostile_run)
    text = " ".join(page.text)
    for fact in ("Command", "Run time", "weighted F1", "suspected label issues", "Folds"):
        assert fact in text
    assert f"{result.metrics['accuracy']:.3f}" in text
    assert f"{result.metrics['label_issues']:,}" in text
    images = [a["src"] for t, a in page.tags if t == "img"]
    assert len(images) >= 4 and all(src.startswith("data:image/svg+xml;base64,") for src in images)
    per_class_rows = [a for t, a in page.tags if t == "button" and "data-show-class" in a]
    assert len(per_class_rows) == len(result.class_names)
    assert "Most frequent estimated mix-ups" in text


def test_embedded_rows_match_the_scores(hostile_run):
    result = load_run(hostile_run)
    data = _data_block(hostile_run)
    suspects = data["tables"]["suspects"]
    flagged = result.scores[result.scores["is_label_issue"]].sort_values("rank")
    assert suspects["total"] == len(flagged)
    text_at = [f["key"] for f in data["fields"]].index("id")
    assert [data["rows"][r][text_at] for r in suspects["rows"]] == [str(i) for i in flagged["id"]]
    highest = data["tables"]["highest-loss"]["rows"]
    loss_at = [f["key"] for f in data["fields"]].index("loss")
    losses = [data["rows"][r][loss_at] for r in highest]
    assert losses == sorted(losses, reverse=True) and len(highest) == len(result.scores)


def test_hostile_text_is_escaped_everywhere(hostile_run):
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    page = _parse(html)
    # Only the page's own two scripts exist: the data block and the code.
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", None]
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("src", "href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "http:", "https:", "//")), (tag, attrs)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("</script>") == 2
    # The JSON block survives the round trip exactly, so the page shows the texts as they are.
    data = _data_block(hostile_run)
    texts = {row[[f["key"] for f in data["fields"]].index("text")] for row in data["rows"]}
    assert set(HOSTILE_TEXTS[:5]) <= texts
    assert HOSTILE_CLASS in data["classes"]
    # Jinja escaped the class name in the markup.
    assert "food&#34;&gt;&lt;img src=x onerror=alert(6)&gt;" in html


def test_csp_allows_only_the_pages_own_code_and_data_images(hostile_run):
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    page = _parse(html)
    metas = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    csp = metas[0]["content"]
    assert "default-src 'none'" in csp and "img-src data:" in csp and "unsafe-inline" not in csp
    code = page.scripts[1][1]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    # The CSP must come before any script or style to apply to them.
    assert html.index("Content-Security-Policy") < html.index("<style>") < html.index("<script")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)


def test_long_text_is_cut_and_page_says_so(hostile_run):
    data = _data_block(hostile_run)
    at = [f["key"] for f in data["fields"]].index("text")
    long = [row[at] for row in data["rows"] if row[at].startswith("pizza pizza")]
    assert len(long) == 1 and len(long[0]) < 1100 and "more characters]" in long[0]
    assert "longer than 1000 characters are cut" in (hostile_run / "report.html").read_text(encoding="utf-8")


def test_max_rows_caps_the_embedded_rows_and_says_so(hostile_run):
    html = render_report(load_run(hostile_run), max_rows=5)
    page = _parse(html)
    data = json.loads(page.scripts[0][1])
    assert all(len(t["rows"]) <= 5 for t in data["tables"].values())
    assert len(data["rows"]) <= 15
    assert "embeds the first 5 of 180 rows" in html


def test_signal_sections_appear_only_with_their_column(hostile_run):
    result = load_run(hostile_run)
    result.scores = result.scores.drop(columns=["outlier_score", "is_outlier_issue"], errors="ignore")
    assert "signal-outlier-score" not in _parse(render_report(result)).ids
    result.scores["outlier_score"] = np.linspace(0, 1, len(result.scores))
    page = _parse(render_report(result))
    assert "signal-outlier-score" in page.ids
    spec = json.loads(page.scripts[0][1])["tables"]["signal-outlier-score"]
    assert "outlier_score" in spec["columns"] and len(spec["rows"]) == len(result.scores)


def test_registered_section_with_a_plot_and_groups(hostile_run):
    result = load_run(hostile_run)
    result.scores["my_group"] = ["g%d" % (i % 7) if i % 3 == 0 else "" for i in range(len(result.scores))]
    section = Section("my_group", "My groups", "test groups", kind="group",
                      plot=lambda s: plots.plot_class_distribution({"a": 1, "b": 2}))
    page = _parse(render_report(result, sections=(*sections(), section)))
    assert "signal-my-group" in page.ids
    data = json.loads(page.scripts[0][1])
    rows = data["tables"]["signal-my-group"]["rows"]
    at = [f["key"] for f in data["fields"]].index("my_group")
    groups = [data["rows"][r][at] for r in rows]
    assert len(rows) == 60 and "" not in groups
    # Members of a group are next to each other.
    assert sum(a != b for a, b in zip(groups, groups[1:])) == 6


def test_run_details_say_how_fine_tuning_cut_long_texts(hostile_run):
    result = load_run(hostile_run)
    assert "Text length" not in render_report(result)  # tfidf: no token budget to report
    result.metrics["backend_details"] = {"finetune": {"max_length": 256, "truncation": "head+tail",
                                                      "texts_at_max_length": 1234}}
    assert "256 tokens (chosen from the data), head+tail truncation; 1,234 texts reach the limit" in render_report(result)
    result.run["config"]["train"]["max_length"] = 256
    assert "256 tokens (set by --max-length)" in render_report(result)


def test_report_renders_with_minimal_run_facts(hostile_run):
    result = load_run(hostile_run)
    result.run = {}
    result.metrics = {"classes": result.metrics["classes"]}
    page = _parse(render_report(result))
    assert set(SECTIONS) <= page.ids


def test_report_command_rerenders_from_saved_scores(hostile_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(hostile_run, copy)
    (copy / "report.html").unlink()
    done = run_cli("report", copy)
    assert done.returncode == 0, done.stderr
    assert set(SECTIONS) <= _parse((copy / "report.html").read_text(encoding="utf-8")).ids


def test_report_command_on_a_folder_that_is_not_a_run(tmp_path):
    done = run_cli("report", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "not a complete run folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_plots_draw_on_the_given_axes_and_return_it(hostile_run):
    result = load_run(hostile_run)
    names = list(result.class_names)
    ax = plots.new_axes()
    assert plots.plot_confusion_matrix(result.metrics["confusion_matrix_normalized"], names, ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert ax.get_title() == "Normalized confusion matrix"
    ax = plots.plot_class_probabilities({"a": 0.25, "b": 0.75}, title="$x$ <b>")
    assert [round(p.get_width()) for p in ax.patches] == [25, 75]
    svg = plots.figure_to_svg(ax.figure)
    assert svg.lstrip().startswith("<?xml") and "<script" not in svg
    png = base64.b64decode(plots.figure_to_png_base64(ax.figure))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def _data_block(run_dir: Path) -> dict:
    page = _parse((run_dir / "report.html").read_text(encoding="utf-8"))
    return json.loads(page.scripts[0][1])


# ------------------------------------------------------------------------------------ headless Chromium

@pytest.fixture(scope="module")
def browser():
    reason = browser_missing()
    if reason:
        pytest.skip(f"browser tests {reason}")
    with chromium() as launched:
        yield launched


def _open(browser, run_dir: Path):
    """The report opened from disk; records console errors, dialogs and every request."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    events = {"errors": [], "dialogs": [], "requests": [], "blocked": []}
    page.on("console", lambda m: events["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: events["errors"].append(str(e)))
    page.on("request", lambda r: events["requests"].append(r.url))

    def on_dialog(dialog):
        events["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            events["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto((run_dir / "report.html").resolve().as_uri())
    page.wait_for_selector("html[data-ready=true]")
    return page, events


@pytest.fixture()
def report_page(browser, hostile_run):
    page, events = _open(browser, hostile_run)
    yield page, events
    page.close()


def _column(page, table: str, key: str) -> list[str]:
    index = page.eval_on_selector_all(f"#table-{table} th", "ths => ths.map(t => t.dataset.key)").index(key)
    return page.eval_on_selector_all(f"#table-{table} tbody tr",
                                     f"rows => rows.map(r => r.children[{index}].textContent)")


def _info(page, table: str) -> str:
    return page.text_content(f"#table-{table} [data-page-info]")


def test_browser_loads_without_errors_requests_or_dialogs(report_page):
    page, events = report_page
    page.wait_for_timeout(300)
    assert events["errors"] == []
    assert events["dialogs"] == []
    assert events["blocked"] == []
    assert all(u.startswith(("file:", "data:")) for u in events["requests"])
    assert page.eval_on_selector_all("script", "s => s.length") == 2
    assert _info(page, "highest-loss") == "rows 1–10 of 180 · page 1 of 18"


def test_browser_shows_hostile_text_as_text(report_page):
    page, events = report_page
    page.fill("#table-highest-loss input[data-search]", "alert")
    texts = _column(page, "highest-loss", "text")
    assert set(HOSTILE_TEXTS[:5]) <= set(texts)
    page.hover("#table-highest-loss tbody tr")
    page.select_option("#table-highest-loss select[data-filter=given]", label=HOSTILE_CLASS)
    page.wait_for_timeout(200)
    assert events["dialogs"] == [] and events["errors"] == []
    assert page.eval_on_selector_all("img", "imgs => imgs.every(i => i.src.startsWith('data:image/svg+xml'))")


def test_browser_sorting(report_page):
    page, _ = report_page
    page.select_option("#table-highest-loss select[data-page-size]", "100")
    page.click("#table-highest-loss th[data-key=loss] button")
    losses = [float(x) for x in _column(page, "highest-loss", "loss")]
    assert losses == sorted(losses, reverse=True) and len(losses) == 100
    assert page.get_attribute("#table-highest-loss th[data-key=loss]", "aria-sort") == "descending"
    page.click("#table-highest-loss th[data-key=loss] button")
    losses = [float(x) for x in _column(page, "highest-loss", "loss")]
    assert losses == sorted(losses)
    page.click("#table-highest-loss th[data-key=id] button")
    ids = [int(x) for x in _column(page, "highest-loss", "id")]
    assert ids == list(range(100))
    page.click("#table-highest-loss th[data-key=given] button")
    given = _column(page, "highest-loss", "given")
    assert given == sorted(given, key=str.lower)


def test_browser_filtering_by_label_and_text(report_page, hostile_run):
    page, _ = report_page
    result = load_run(hostile_run)
    flagged = result.scores[result.scores["is_label_issue"]]
    given, suggested = flagged["given_label"].mode()[0], flagged["suggested_label"].mode()[0]
    page.select_option("#table-suspects select[data-filter=given]", label=given)
    expected = int((flagged["given_label"] == given).sum())
    assert set(_column(page, "suspects", "given")) == {given}
    assert f"of {expected} (filtered from {len(flagged)})" in _info(page, "suspects")
    page.select_option("#table-suspects select[data-filter=given]", "")
    page.select_option("#table-suspects select[data-filter=suggested]", label=suggested)
    assert set(_column(page, "suspects", "suggested")) == {suggested}
    page.fill("#table-highest-loss input[data-search]", "PIZZA")
    texts = _column(page, "highest-loss", "text")
    expected = int(result.scores["text"].str.lower().str.contains("pizza").sum())
    assert texts and all("pizza" in t.lower() for t in texts)
    assert f"of {expected} " in _info(page, "highest-loss")
    page.fill("#table-highest-loss input[data-search]", "no such words anywhere")
    assert page.text_content("#table-highest-loss tbody") == "No rows match these filters."
    assert _info(page, "highest-loss") == "0 rows"


def test_browser_paging_and_drill_down(report_page):
    page, _ = report_page
    first = _column(page, "lowest-loss", "id")
    page.click("#table-lowest-loss [data-page=next]")
    assert _info(page, "lowest-loss").startswith("rows 11–20 of 180")
    assert _column(page, "lowest-loss", "id") != first
    page.click("#table-lowest-loss [data-page=prev]")
    assert _column(page, "lowest-loss", "id") == first
    assert page.is_disabled("#table-lowest-loss [data-page=prev]")
    page.select_option("#table-lowest-loss select[data-page-size]", "100")
    assert len(_column(page, "lowest-loss", "id")) == 100
    page.click("#table-lowest-loss [data-page=next]")
    assert len(_column(page, "lowest-loss", "id")) == 80 and page.is_disabled("#table-lowest-loss [data-page=next]")
    page.click("button[data-show-class='2']")
    assert page.input_value("#table-suspects select[data-filter=given]") == "2"


# ------------------------------------------------------------------------------------ relabelling

BIG_ID = 2**62  # ids above 2**53 lose digits as JavaScript numbers
FORMULA_TEXT = '=HYPERLINK("http://example.com","x") <script>alert(7)</script> laptop python server'


@pytest.fixture(scope="module")
def relabel_run(tmp_path_factory) -> Path:
    """240 easy rows with 16 planted flips, big integer ids; one flipped text is a formula and a script."""
    frame, flipped = plant_flips(easy_dataset(80), 16)
    # The formula text's words say tech: it is a suspect when its label is not tech.
    hostile = next(i for i in flipped if frame.at[i, "label"] != "tech")
    frame.at[hostile, "text"] = FORMULA_TEXT
    # A conflicting duplicate: a flipped row gets the text of a clean row of another label.
    copied = next(i for i in flipped if i != hostile)
    copy_of = next(i for i in range(len(frame))
                   if i not in set(flipped) and frame.at[i, "label"] != frame.at[copied, "label"])
    frame.at[copied, "text"] = frame.at[copy_of, "text"]
    frame.insert(0, "uid", [BIG_ID + 7 * i for i in range(len(frame))])
    folder = tmp_path_factory.mktemp("relabel")
    frame.to_csv(folder / "data.csv", index=False)
    return build_run(folder / "data.csv", folder / "run", data={"id_column": "uid"})


def _suspects(run_dir: Path):
    import pandas as pd

    return pd.read_csv(run_dir / "suspects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _states(page) -> list[str]:
    return page.eval_on_selector_all("#table-suspects tbody tr[data-row] td.decision .state",
                                     "cells => cells.map(c => c.textContent)")


HOSTILE_NOTE = '=HYPERLINK("http://x") <script>alert("note")</script>'


def test_relabel_by_keyboard_survives_reload_downloads_and_applies(browser, relabel_run, tmp_path):
    import pandas as pd

    from auditor.annotate.export import SUSPECT_COLUMNS
    from auditor.safeio import neutralise

    suspects = _suspects(relabel_run)
    classes = list(load_run(relabel_run).class_names)
    assert len(suspects) >= 10 and FORMULA_TEXT in {t.lstrip("'") for t in suspects["text"]}
    page, events = _open(browser, relabel_run)
    page.select_option("#table-suspects select[data-page-size]", "25")
    scripts = page.evaluate("document.scripts.length")
    notes = [HOSTILE_NOTE if i == 1 else f'note {i}, "checked"' for i in range(10)]  # one a formula with a script
    expected, states = {}, []
    for i, row in suspects.head(10).iterrows():
        page.keyboard.press("n")
        page.keyboard.type(notes[i])
        page.keyboard.press("Enter")
        if i % 4 == 3:
            page.keyboard.press("d")
            expected[row["id"]] = ("", "deleted")
            states.append("delete")
        else:
            new = row["suggested_label"] if row["suggested_label"] != row["given_label"] else \
                next(c for c in classes if c != row["given_label"])
            page.keyboard.press(str(classes.index(new) + 1))
            expected[row["id"]] = (new, "relabelled")
            states.append(f"\u2192 {new}")
    progress = page.text_content("[data-progress]")
    assert progress.startswith(f"Reviewed 10 of {len(suspects)} · relabelled {len(suspects.head(10)) - 2} · "
                               "kept 0 · deleted 2"), progress
    assert _states(page)[:10] == states
    # j/k move the cursor; undo takes back the last decision, a decision redoes it.
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("g")
    assert _states(page)[10].startswith("keep ")
    page.keyboard.press("u")
    assert _states(page)[10] == "undecided"

    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    page.select_option("#table-suspects select[data-page-size]", "25")
    assert page.text_content("[data-progress]") == progress
    assert _states(page)[:11] == states + ["undecided"]
    assert page.input_value("#table-suspects tbody tr[data-row] input[data-note]") == 'note 0, "checked"'

    with page.expect_download() as download:
        page.click("[data-action=download]")
    path = tmp_path / "corrections.csv"
    download.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    got = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(got.columns) == SUSPECT_COLUMNS
    # Every column as suspects.csv wrote it (ids to the last digit, formula text neutralised), numbers equal.
    for column in SUSPECT_COLUMNS:
        if column in ("corrected_label", "note"):
            continue
        if column in ("suggested_label_probability", "loss_score", "label_quality_score", "rank"):
            np.testing.assert_allclose(got[column].astype(float), suspects[column].astype(float))
        else:
            assert got[column].tolist() == suspects[column].tolist(), column
    assert "'" + FORMULA_TEXT in got["text"].tolist()
    assert all(int(i) >= BIG_ID for i in got["id"])
    decided = got[got["corrected_label"] != ""]
    assert dict(zip(decided["id"], decided["corrected_label"])) == {
        k: v or "DELETE" for k, (v, _) in expected.items()}
    assert decided["note"].tolist() == [neutralise(n) for n in notes]  # the download neutralises as safeio does

    done = run_cli("apply", relabel_run, path, "--out", tmp_path / "applied")
    assert done.returncode == 0, done.stderr
    changes = pd.read_csv(tmp_path / "applied" / "changes.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert {r["id"]: (r["new_label"], r["change"]) for _, r in changes.iterrows()} == expected
    assert sorted(changes["note"]) == sorted(neutralise(n) for n in notes)
    # The hostile note: in changes.csv exactly as safeio neutralises a cell ("'" before "="), the script as text;
    # in the page it ran nothing (no dialog, no error, no script element added).
    assert changes.loc[changes["id"] == suspects["id"].iat[1], "note"].tolist() == ["'" + HOSTILE_NOTE]
    assert page.evaluate("document.scripts.length") == scripts
    assert events["errors"] == [] and events["dialogs"] == [] and events["blocked"] == []
    assert all(u.startswith(("file:", "data:", "blob:")) for u in events["requests"])
    page.close()


def test_relabel_loads_a_filled_csv_back(browser, relabel_run, tmp_path):
    from playwright.sync_api import expect

    from auditor.annotate.export import write_suspects

    suspects = _suspects(relabel_run)
    page, events = _open(browser, relabel_run)  # a new browser context: nothing stored yet
    assert page.text_content("[data-progress]").startswith(f"Reviewed 0 of {len(suspects)}")
    bad = suspects.copy()
    bad.loc[3, "corrected_label"] = "no such class"
    write_suspects(bad, tmp_path / "bad.csv")
    page.set_input_files("input[data-load]", str(tmp_path / "bad.csv"))
    message = page.locator("[data-relabel-message]")
    expect(message).to_contain_text("row 5: corrected_label 'no such class' is not a class")  # no eval: the CSP
    assert page.text_content("[data-progress]").startswith("Reviewed 0 ")

    good = suspects.copy()
    good.loc[0, "corrected_label"] = suspects.loc[0, "suggested_label"]
    good.loc[1, "corrected_label"] = "delete"
    good.loc[2, "corrected_label"] = suspects.loc[2, "given_label"]
    good.loc[2, "note"] = "=looks fine"
    good["id"] = good["id"].map(lambda v: v + ".0" if v == suspects.loc[1, "id"] else v)  # as a spreadsheet may
    write_suspects(good, tmp_path / "good.csv")
    page.set_input_files("input[data-load]", str(tmp_path / "good.csv"))
    expect(message).to_contain_text("Loaded 3 decision(s) from good.csv")
    assert page.text_content("[data-progress]").startswith(
        f"Reviewed 3 of {len(suspects)} · relabelled 1 · kept 1 · deleted 1")
    assert _states(page)[:3] == [f"\u2192 {suspects.loc[0, 'suggested_label']}", "delete",
                                 f"keep {suspects.loc[2, 'given_label']}"]
    # Clearing takes two clicks and empties the browser's copy.
    page.click("[data-action=clear]")
    page.click("[data-action=clear]")
    assert page.text_content("[data-progress]").startswith("Reviewed 0 ")
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    assert page.text_content("[data-progress]").startswith("Reviewed 0 ")
    assert events["errors"] == [] and events["dialogs"] == [] and events["blocked"] == []
    page.close()


def test_evidence_row_shows_neighbours_and_hostile_text_stays_text(browser, relabel_run):
    page, events = _open(browser, relabel_run)
    result = load_run(relabel_run)
    first = result.scores[result.scores["is_label_issue"]].sort_values("rank").iloc[0]
    page.keyboard.press("e")
    head = page.text_content("#table-suspects tr.evidence .evidence-head")
    assert re.fullmatch(r"\d of the 5 most similar texts are labelled \w+ \(this row: given \w+, suggested \w+\)\.",
                        head), head
    ids = page.eval_on_selector_all("#table-suspects tr.evidence table.neighbours tr td:nth-child(2)",
                                    "cells => cells.map(c => c.textContent)")
    assert ids == [str(i) for i in json.loads(first["neighbour_ids"])]
    page.fill("#table-suspects input[data-search]", "hyperlink")
    assert _column(page, "suspects", "text") == [FORMULA_TEXT]
    page.wait_for_timeout(200)
    assert events["errors"] == [] and events["dialogs"] == [] and events["blocked"] == []
    assert page.eval_on_selector_all("script", "s => s.length") == 2
    page.close()


@pytest.fixture(scope="module")
def twelve_class_run(tmp_path_factory) -> Path:
    """12 classes whose texts name their class, 12 planted flips: class numbers take two digits."""
    import pandas as pd

    rng = np.random.default_rng(1)
    rows = [{"text": " ".join(rng.choice([f"w{c}x{j}" for j in range(5)], 3)) + " and more", "label": f"c{c:02d}"}
            for c in range(12) for _ in range(12)]
    frame, _ = plant_flips(pd.DataFrame(rows), 12)
    folder = tmp_path_factory.mktemp("twelve")
    frame.to_csv(folder / "data.csv", index=False)
    return build_run(folder / "data.csv", folder / "run")


def test_relabel_with_more_than_nine_classes_takes_two_digit_numbers(browser, twelve_class_run):
    page, events = _open(browser, twelve_class_run)
    classes = list(load_run(twelve_class_run).class_names)
    given = _column(page, "suspects", "given")
    page.keyboard.press("1")
    page.keyboard.press("1")  # 11: no class 110 or more exists, so it applies at once
    page.keyboard.press("3")  # 3: no class 30 or more, at once
    page.keyboard.press("1")
    page.keyboard.press("Enter")  # 1, confirmed
    page.keyboard.press("1")
    page.wait_for_timeout(1500)  # 1, after a pause
    page.keyboard.press("1")
    page.keyboard.press("5")  # no class 15: nothing happens
    states = _states(page)[:5]
    wanted = [classes[10], classes[2], classes[0], classes[0]]
    assert states[:4] == [(f"keep {c}" if c == g else f"\u2192 {c}") for c, g in zip(wanted, given)]
    assert states[4] == "undecided"
    assert "No class 15" in page.text_content("[data-relabel-message]")
    # The row's own select offers every class.
    assert page.eval_on_selector("#table-suspects tbody tr td.decision select", "s => s.options.length") == 13
    assert events["errors"] == []
    page.close()


def test_evidence_row_lists_the_other_copies_of_a_duplicate(browser, relabel_run):
    scores = load_run(relabel_run).scores
    groups = scores[scores["duplicate_group"] >= 0].groupby("duplicate_group")
    pair = next(g for _, g in groups if g["given_label"].nunique() > 1 and g["is_label_issue"].any())
    row = pair[pair["is_label_issue"]].sort_values("rank").iloc[0]
    others = [str(i) for i in pair["id"] if i != row["id"]]
    page, events = _open(browser, relabel_run)
    page.select_option("#table-suspects select[data-page-size]", "100")
    page.click(f"#table-suspects tbody tr:has(td:text-is('{row['id']}')) button.toggle")
    panel = page.locator("#table-suspects tr.evidence")
    assert "Other copies of this text" in panel.text_content()
    tables = panel.locator("table.neighbours")
    copies = tables.nth(tables.count() - 1).locator("tr td:nth-child(1)").all_text_contents()
    assert copies == others
    assert events["errors"] == []
    page.close()
