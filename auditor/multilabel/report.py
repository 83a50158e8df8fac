"""The multi-label report and console summary: per-label results and 2×2 confusions, label co-occurrence,
suspects with given set → suggested set. Same page machinery as the single-label report (its CSS, its
table script, its CSP and escaping), so the same guarantees hold."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..report import html as _html
from .. import plots
from ..config import DEFAULT_TOP
from ..safeio import plain, safe_write
from .data import parse_set_text
from .export import SUSPECT_COLUMNS

__all__ = ["render_report", "write_report", "format_summary"]

def _change_fields(change: str) -> dict:
    """The label probably `change` ("missing", "spurious") and its probability."""
    return {change: (f"{change}_label", f"Probably {change}", "text"),
            f"p_{change}": (f"{change}_label_probability", f"P({change})", "float")}


# key: (scores column, heading, type); the report script shows, sorts and pages these.
_FIELDS = {
    **_html.ROW_FIELDS,
    # Sets are sorted class indices in the page (the script joins them with the run's separator).
    "given": ("given_labels", "Given labels", "set"),
    "suggested": ("suggested_labels", "Suggested labels", "set"),
    **_change_fields("missing"), **_change_fields("spurious"),
    **{key: _html.BASE_FIELDS[key] for key in ("quality", "reasons")},  # as single-label
    "outlier": ("outlier_score", "Outlier score", "float"),
    "group": ("duplicate_group", "Duplicate group", "int"),
}


def write_report(result, path, *, max_rows: int = _html.DEFAULT_MAX_ROWS) -> Path:
    path = Path(path)
    text = render_report(result, max_rows=max_rows)
    safe_write({path: lambda handle: handle.write(text.encode("utf-8"))}, own=[path], option="")
    return path


def render_report(result, *, max_rows: int = _html.DEFAULT_MAX_ROWS) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader("auditor.multilabel", "templates"),
                                    jinja2.PackageLoader("auditor.report", "templates")]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(num=_html._num, pct=_html._pct, duration=_html._duration)
    js = env.get_template("report.js.j2").render()
    css = env.get_template("report.css.j2").render()
    return env.get_template("multilabel.html.j2").render(
        **_context(result, max_rows), js=js, css=css, csp=_html._content_security_policy(js, css))


def _context(result, max_rows: int) -> dict:
    scores, metrics, run = result.scores, result.metrics, result.run
    names = [str(c) for c in result.class_names]
    tables = _tables(scores, max_rows)
    rows, fields = _store(scores, tables, names, result.separator)
    suspects_shown = tables[0]["spec"]["rows"]
    timings = metrics.get("timings") or {}
    data = run.get("data") or {}
    flagged = int(scores["is_label_issue"].astype(bool).sum())
    summary = {
        "dataset": data.get("source", "?"), "format": data.get("format", "?"), "form": data.get("form"),
        "separator": data.get("separator"), "rows": len(scores), "n_classes": len(names),
        "method": metrics.get("method", "?"), "folds": metrics.get("folds"), "seed": metrics.get("seed"),
        "f1_micro": metrics.get("f1_micro"), "f1_macro": metrics.get("f1_macro"),
        "exact": metrics.get("accuracy"), "labels_per_row": metrics.get("labels_per_row"),
        "issues": flagged, "issue_share": flagged / len(scores) if len(scores) else 0.0,
        "run_time": timings.get("total"), "stages": {k: v for k, v in timings.items() if k != "total"},
        "command": run.get("command") or "", "finished": run.get("finished"), "versions": run.get("versions") or {},
    }
    return {
        "summary": summary, "classes": names, "per_label": _per_label(metrics, names),
        "pairs": _top_pairs(metrics, names), "images": _images(result, names), "tables": tables,
        "max_rows": max_rows, "separator": result.separator,
        "relabel": {"shown": len(suspects_shown), "total": tables[0]["total"]},
        "data_json": _html._json_for_script({"classes": names, "fields": fields, "rows": rows,
                                             "separator": result.separator,
                                             "relabel": _relabel_config(result, rows, fields, suspects_shown),
                                             "tables": {t["key"]: t["spec"] for t in tables}}),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _per_label(metrics: dict, names) -> list[dict]:
    out = []
    for name in names:
        m = metrics["per_class"][name]
        (tn, fp), (fn, tp) = metrics["confusion_2x2"][name]
        out.append(dict(m, name=name, tn=tn, fp=fp, fn=fn, tp=tp,
                        issue_share=(m["label_issues"] or 0) / m["support"] if m["support"] else 0.0))
    return out


def _top_pairs(metrics: dict, names, top: int = 15) -> list[dict]:
    """The label pairs given together most often, with P(b | a) both ways."""
    counts = np.asarray(metrics["cooccurrence"], dtype=float)
    pairs = [(counts[i, j], i, j) for i in range(len(names)) for j in range(i + 1, len(names)) if counts[i, j] > 0]
    pairs.sort(key=lambda x: -x[0])
    return [{"a": names[i], "b": names[j], "count": int(c), "b_given_a": c / counts[i, i] if counts[i, i] else 0.0,
             "a_given_b": c / counts[j, j] if counts[j, j] else 0.0} for c, i, j in pairs[:top]]


def _images(result, names) -> dict:
    metrics = result.metrics
    counts = np.asarray(metrics["cooccurrence"], dtype=float)
    shares = counts / np.maximum(np.diag(counts)[:, None], 1)
    cooc = plots.plot_confusion_matrix(shares, names, title="Label co-occurrence: P(column | row)",
                                       xlabel="also labelled", ylabel="labelled")
    per_label = plots.plot_per_class({n: metrics["per_class"][n] for n in names})
    return {"cooccurrence": _html._uri(cooc), "per_label": _html._uri(per_label)}


def _tables(scores: pd.DataFrame, max_rows: int) -> list[dict]:
    order = np.argsort(scores["rank"].to_numpy(), kind="stable")
    flagged = scores["is_label_issue"].astype(bool).to_numpy()
    base = ["rank", "id", "text", "given", "suggested", "missing", "p_missing", "spurious", "p_spurious", "quality",
            "reasons"]
    tables = [_table("suspects", "Suspected label errors", base, order[flagged[order]], max_rows,
                     f"{int(flagged.sum()):,} examples flagged by cleanlab's multi-label filter, most suspect first "
                     "(lowest label quality). Given set → suggested set; the probable missing and spurious label.")]
    if "outlier_score" in scores:
        by_outlier = np.lexsort((scores["rank"].to_numpy(), -scores["outlier_score"].to_numpy(dtype=float)))
        tables.append(_table("outliers", "Outliers", ["rank", "id", "text", "given", "outlier", "reasons"],
                             by_outlier, max_rows, "Examples far from the rest of the data (higher = more unusual)."))
    if "is_conflicting_duplicate_issue" in scores:
        conflicts = order[scores["is_conflicting_duplicate_issue"].to_numpy(dtype=bool)[order]]
        groups = scores["duplicate_group"].to_numpy()[conflicts]
        first = pd.Series(np.arange(len(conflicts))).groupby(groups).transform("min").to_numpy()
        conflicts = conflicts[np.lexsort((np.arange(len(conflicts)), first))]
        tables.append(_table("duplicates", "Duplicates with different label sets",
                             ["group", "rank", "id", "text", "given", "reasons"], conflicts, max_rows,
                             "Identical or near-identical texts whose label sets differ."))
    return tables


def _table(key, title, columns, positions, max_rows, description) -> dict:
    positions = np.asarray(positions, dtype=np.int64)
    return {"key": key, "title": title, "description": description, "columns": columns, "filters": [],
            "positions": positions[:max_rows], "total": len(positions),
            "headings": [(c, _FIELDS[c][1]) for c in columns]}


def _store(scores: pd.DataFrame, tables, names, separator: str) -> tuple[list, list]:
    picked = np.unique(np.concatenate([t["positions"] for t in tables])) if tables else np.array([], dtype=int)
    sub = scores.iloc[picked]
    index = {n: j for j, n in enumerate(names)}

    def as_set(text):
        return sorted({index[n] for n in parse_set_text("" if text is None or text != text else text, separator)})

    columns = []
    for source, _, kind in _FIELDS.values():
        values = sub[source].tolist() if source in sub.columns else [None] * len(sub)
        convert = {"text": _html._cut, "float": _html._finite, "set": as_set, "id": _html._id_text}.get(
            kind, lambda v: plain(v, cell=True))
        columns.append([convert(v) for v in values])
    rows = [list(r) for r in zip(*columns)]
    where = {int(p): i for i, p in enumerate(picked)}
    for table in tables:
        table["spec"] = {"columns": table["columns"], "filters": [], "rows": [where[int(p)] for p in table["positions"]],
                         "total": int(table["total"])}
    fields = [{"key": k, "label": heading, "type": kind} for k, (_, heading, kind) in _FIELDS.items()]
    return rows, fields


def _relabel_config(result, rows, fields, suspects_shown) -> dict:
    """The page's relabelling for label sets: the single-label machinery (report.js.j2) with toggles;
    the download has the multi-label suspects.csv columns, `corrected_labels` joined by the run's separator."""
    source_key = {source: key for key, (source, _, _) in _FIELDS.items()}
    return {"key": _html._relabel_key(result, {"fields": fields, "rows": rows}, suspects_shown),
            "columns": [[c, source_key.get(c)] for c in SUSPECT_COLUMNS], "extra": {},
            "label": "corrected_labels", "separator": result.separator,
            "id_is_text": not pd.api.types.is_integer_dtype(result.scores["id"])}


# ------------------------------------------------------------------------------------------------ console


def _clip(text, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _how(metrics: dict) -> str:
    if metrics.get("folds"):
        return f"{metrics['folds']}-fold"
    return "probabilities given" if metrics.get("pred_probs_given") else "trained once on --train-data"


def format_summary(result, out=None, top: int = DEFAULT_TOP) -> str:
    m = result.metrics
    lines = [
        f"Audited {m['n']} examples, {len(m['classes'])} labels (multi-label, {m['labels_per_row']:.2f} per row), "
        f"method {m['method']}, {_how(m)}",
        f"Out-of-sample micro F1 {m['f1_micro']:.3f}, macro F1 {m['f1_macro']:.3f}, exact set match {m['accuracy']:.3f}",
        f"Suspected label issues: {m['label_issues']} ({m['label_issue_share']:.1%})",
    ]
    if top:
        lines += ["", f"{'rank':>4}  {'id':>6}  {'given':<18} {'suggested':<18} text"]
        for _, row in result.suspects(top).iterrows():
            lines.append(f"{row['rank']:>4}  {_clip(row['id'], 6):>6}  {_clip(row['given_labels'], 18):<18} "
                         f"{_clip(row['suggested_labels'], 18):<18} {_clip(row['text'], 60)}")
    if out is not None:
        lines += ["", f"Wrote {out}/ (scores.csv, suspects.csv, metrics.json, run.json, report.html)"]
    return "\n".join(lines)
