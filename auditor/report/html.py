"""The self-contained HTML report: one file, no request to any other host, works opened from disk.

Dataset strings reach the page only through Jinja2's autoescaping or through the JSON data block,
which is escaped so that no `<`, `>` or `&` appears in it; the Content-Security-Policy allows only
the page's own inline script and style (by hash) and `data:` images, so even a missed escape could
not load or run anything.

Each signal declares its own section (`auditor.scoring.registry.Section`); a section is rendered only
when the scores table has its column. The report computes nothing about the data: it renders the
scores, metrics and run facts of a finished result.

The suspects table is also where annotators relabel (report.js.j2): decisions are keyed by id, sent to
the page as strings (JavaScript numbers lose integers above 2**53), kept in the browser's localStorage
under a key derived from the run, and downloaded as a CSV with suspects.csv's columns
(`annotate.export.SUSPECT_COLUMNS`, formula-like cells neutralised as `write_suspects` does) for
`auditor apply`. Each embedded row also carries its evidence: the nearest texts from the scores'
neighbour columns (scoring/neighbours.py) and the other copies of a duplicated text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .. import plots
from ..safeio import plain
from ..scoring.registry import Section, sections as signal_sections

__all__ = ["render_report", "write_report", "DEFAULT_MAX_ROWS", "CELL_TEXT_CHARS"]

DEFAULT_MAX_ROWS = 2000  # rows embedded per table; 3 tables of 2,000 rows keep 100,000-row runs ~3 MB
CELL_TEXT_CHARS = 1000  # longer texts are cut in the page (scores.csv keeps them whole)


def write_report(result, path, *, max_rows: int = DEFAULT_MAX_ROWS, sections=None, overwrite: bool = False,
                 inputs=()) -> Path:
    """Render the report of `result` (an AuditResult) to `path`; the file appears whole or not at all.

    An existing file is replaced only when it is a report this tool wrote, or with `overwrite`;
    never when it is one of `inputs`.
    """
    from ..safeio import check_target, safe_write

    path = Path(path)
    own = [path] if _is_report(path) else []
    check_target(path, inputs=inputs, overwrite=overwrite, own=bool(own))
    html = render_report(result, max_rows=max_rows, sections=sections)
    safe_write({path: lambda handle: handle.write(html.encode("utf-8"))}, inputs=inputs, overwrite=overwrite,
               own=own)
    return path


def _is_report(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as handle:
        return b"<title>Label audit:" in handle.read(8192)


def render_report(result, *, max_rows: int = DEFAULT_MAX_ROWS, sections=None) -> str:
    """The report of `result` as one HTML string; `sections`: the signals' sections (default: the registry's)."""
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ValueError(f"The 'max_rows' parameter must be an int >= 1. Got {max_rows!r} instead.")
    if hasattr(result, "render_report"):  # hook: a task's own report (auditor.multilabel)
        return result.render_report(max_rows=max_rows)
    env = _environment()
    js = env.get_template("report.js.j2").render()
    css = env.get_template("report.css.j2").render()
    context = _context(result, max_rows, signal_sections() if sections is None else tuple(sections))
    return env.get_template("report.html.j2").render(
        **context, js=js, css=css, csp=_content_security_policy(js, css),
    )


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("auditor.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, pct=_pct, duration=_duration)
    return env


def _content_security_policy(js: str, css: str) -> str:
    for name, code in (("script", js), ("style", css)):
        if f"</{name}" in code.lower():
            raise ValueError(f"inline {name} must not contain '</{name}'")
    return (
        "default-src 'none'; "
        f"script-src '{_sha256(js)}'; style-src '{_sha256(css)}'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def _sha256(code: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")


# ---------------------------------------------------------------------------------------------- context


def _context(result, max_rows: int, signal_sections) -> dict:
    scores = result.scores
    names = [str(c) for c in result.class_names]
    issues = _issue_counts(scores, names)
    noise = result.metrics.get("noise")  # recorded by the run (older folders: filled in by runfiles.read_run)
    tables, store, sections = _tables(scores, names, max_rows, signal_sections)
    suspects_shown = tables[0]["spec"]["rows"]
    return {
        "summary": _summary(result, scores),
        "classes": names,
        "per_class": _per_class(result.metrics, names, issues),
        "noise": noise,
        "reliability": _reliability(result),
        "previous": _previous(result),
        "images": _images(result, names, issues, noise),
        "tables": tables,
        "sections": sections,
        "max_rows": max_rows,
        "max_text_chars": CELL_TEXT_CHARS,
        "texts_cut": store["texts_cut"],
        "relabel": {"shown": len(suspects_shown), "total": tables[0]["total"]},
        "data_json": _json_for_script({"classes": names, "fields": store["fields"], "rows": store["rows"],
                                       "refs": store["refs"],
                                       "relabel": _relabel_config(result, store, suspects_shown, tables[0]["positions"]),
                                       "tables": {t["key"]: t["spec"] for t in
                                                  tables + [s["table"] for s in sections]}}),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _reliability(result) -> str | None:
    from ..summary import result_reliability

    return result_reliability(result)


def _previous(result) -> dict | None:
    """The comparison with the run given as --previous, recorded in run.json by the pipeline."""
    return result.run.get("previous") or None


def _summary(result, scores: pd.DataFrame) -> dict:
    metrics, run = result.metrics, result.run
    data = run.get("data", {})
    config = run.get("config", {}) or {}
    data_config = config.get("data", {}) or {}
    timings = metrics.get("timings", {}) or {}
    flagged = int(scores["is_label_issue"].astype(bool).sum())
    return {
        "dataset": data.get("source", "?"),
        "format": data.get("format", "?"),
        "split": data_config.get("split") if data.get("format") == "hub" else None,
        "columns": f"text: {data.get('text_column', '?')}, label: {data.get('label_column', '?')}"
                   + (f", id: {data['id_column']}" if data.get("id_column") else ""),
        "rows": len(scores),
        "n_classes": len(result.class_names),
        "method": metrics.get("method") or run.get("resolved_method") or "?",
        "model": metrics.get("model"),
        "folds": metrics.get("folds"),
        "seed": metrics.get("seed"),
        "score_method": config.get("score_method"),
        "accuracy": metrics.get("accuracy"),
        "f1_weighted": metrics.get("f1_weighted"),
        "issues": flagged,
        "issue_share": flagged / len(scores) if len(scores) else 0.0,
        "run_time": timings.get("total"),
        "stages": {k: v for k, v in timings.items() if k != "total"},
        "command": run.get("command") or "",
        "text_input": _text_input(metrics, config),
        "finished": run.get("finished"),
        "versions": run.get("versions") or {},
    }


def _text_input(metrics: dict, config: dict) -> str | None:
    """How fine-tuning cut long texts: max length (set or chosen from the data) and truncation."""
    details = (metrics.get("backend_details") or {}).get("finetune")
    if not details or details.get("max_length") is None:
        return None
    chosen = "set by --max-length" if (config.get("train") or {}).get("max_length") else "chosen from the data"
    text = f"{details['max_length']} tokens ({chosen}), {details.get('truncation', 'head')} truncation"
    if details.get("texts_at_max_length") is not None:
        text += f"; {details['texts_at_max_length']:,} texts reach the limit"
    return text


def _issue_counts(scores: pd.DataFrame, names: list[str]) -> dict[str, int]:
    flagged = scores.loc[scores["is_label_issue"].astype(bool), "given_label"].astype(str).value_counts()
    return {n: int(flagged.get(n, 0)) for n in names}


def _per_class(metrics: dict, names: list[str], issues: dict[str, int]) -> list[dict]:
    rows = []
    for i, name in enumerate(names):
        m = (metrics.get("per_class") or {}).get(name, {})
        support = int(m.get("support", 0))
        rows.append({"index": i, "name": name, "precision": m.get("precision"), "recall": m.get("recall"),
                     "f1": m.get("f1"), "support": support, "issues": issues[name],
                     "issue_share": issues[name] / support if support else 0.0})
    return rows


def _images(result, names, issues, noise) -> dict[str, str]:
    metrics, scores = result.metrics, result.scores
    images = {}
    if metrics.get("confusion_matrix_normalized") is not None:
        images["confusion"] = _uri(plots.plot_confusion_matrix(metrics["confusion_matrix_normalized"], names))
    if metrics.get("per_class"):
        per_class = {n: metrics["per_class"][n] for n in names if n in metrics["per_class"]}
        images["per_class"] = _uri(plots.plot_per_class(per_class))
    counts = scores["given_label"].astype(str).value_counts()
    estimated = noise.get("estimated_true") if noise else None
    images["distribution"] = _uri(plots.plot_class_distribution(
        {n: int(counts.get(n, 0)) for n in names}, estimated_true=estimated, issues=issues))
    if noise and "joint" in noise:
        images["noise"] = _uri(plots.plot_noise_matrix(noise["joint"], names))
    return images


def _uri(ax) -> str:
    return plots.figure_to_data_uri(ax.figure, "svg")


# ----------------------------------------------------------------------------------------------- tables

# key: (scores column, heading, type). The row's identity, in every table of both reports (multi-label too).
ROW_FIELDS = {
    "rank": ("rank", "Rank", "int"),
    "id": ("id", "Id", "id"),
    "text": ("text", "Text", "text"),
}
# Label columns are stored as class indices in the page data.
BASE_FIELDS = {
    **ROW_FIELDS,
    "given": ("given_label", "Given label", "label"),
    "suggested": ("suggested_label", "Suggested label", "label"),
    "predicted": ("predicted_label", "Predicted label", "label"),
    "p_suggested": ("suggested_label_probability", "P(suggested)", "float"),
    "p_given": ("given_label_probability", "P(given)", "float"),
    "loss": ("loss_score", "Loss", "float"),
    "quality": ("label_quality_score", "Label quality", "float"),
    "flagged": ("is_label_issue", "Flagged", "bool"),
    "reasons": ("reasons", "Reasons", "text"),
    # Not table columns: the corrections download and the expandable evidence read them.
    "neighbours": ("neighbours", "Nearest texts", "text"),
    "evidence": ("neighbour_ids", "Evidence", "evidence"),
}
_NEIGHBOUR_TEXT_CHARS = 200  # neighbours' and copies' texts are cut shorter than a row's own text
_MAX_COPIES = 10


def _tables(scores: pd.DataFrame, names: list[str], max_rows: int, signal_sections):
    """Pick each table's rows (positions in `scores`), then store every picked row once for all tables."""
    order_rank = np.argsort(scores["rank"].to_numpy(), kind="stable")
    flagged = scores["is_label_issue"].astype(bool).to_numpy()
    suspects = order_rank[flagged[order_rank]]
    loss_order = np.lexsort((scores["rank"].to_numpy(), -scores["loss_score"].to_numpy()))
    tables = [
        _table("suspects", "Suspected mislabels",
               ["rank", "id", "text", "given", "suggested", "p_suggested", "loss", "quality", "reasons"],
               ["given", "suggested"], suspects, max_rows,
               f"{len(suspects):,} examples flagged, most suspect first."),
        _table("highest-loss", "Highest-loss examples",
               ["id", "text", "given", "predicted", "loss", "p_given"], ["given", "predicted"],
               loss_order, max_rows, "The examples the out-of-sample model found hardest: mislabels, "
               "ambiguous texts or classes that overlap."),
        _table("lowest-loss", "Lowest-loss examples",
               ["id", "text", "given", "predicted", "loss", "p_given"], ["given", "predicted"],
               loss_order[::-1], max_rows, "The examples the model is most sure of: look for shortcuts "
               "(the same words always meaning one class)."),
    ]
    extra_fields, sections = {}, []
    for section in signal_sections:
        if section.column not in scores.columns:
            continue
        table, fields = _signal_table(section, scores, order_rank, max_rows)
        extra_fields.update(fields)
        sections.append({"section": section, "table": table, "image": _section_image(section, scores)})
    store = _row_store(scores, names, tables + [s["table"] for s in sections], extra_fields)
    return tables, store, sections


def _table(key, title, columns, filters, positions, max_rows, description) -> dict:
    positions = np.asarray(positions, dtype=np.int64)
    return {"key": key, "title": title, "description": description, "columns": columns, "filters": filters,
            "positions": positions[:max_rows], "total": len(positions)}


def _signal_table(section: Section, scores: pd.DataFrame, order_rank, max_rows: int):
    column = scores[section.column]
    extras = [c for c in section.extra_columns if c in scores.columns]
    fields = {c: (c, c.replace("_", " ").capitalize(), _field_type(scores[c])) for c in [section.column, *extras]}
    if section.kind == "group":
        text = column.astype(str).str.strip()
        # -1 is the scorers' "no group" marker: those rows are not one big group.
        present = column.notna().to_numpy() & (text != "").to_numpy() & (text != "-1").to_numpy()
        chosen = order_rank[present[order_rank]]
        # Group members together, groups ordered by their most suspect member.
        groups = column.iloc[chosen].astype(str).to_numpy()
        first = pd.Series(np.arange(len(chosen))).groupby(groups).transform("min").to_numpy()
        positions = chosen[np.lexsort((np.arange(len(chosen)), first))]
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        values = np.where(np.isnan(values), -np.inf if section.descending else np.inf, values)
        positions = np.lexsort((scores["rank"].to_numpy(), -values if section.descending else values))
    columns = ["rank", "id", "text", "given", "suggested", section.column, *extras]
    table = _table(section.key, section.title, columns, ["given", "suggested"], positions, max_rows,
                   section.description)
    return table, fields


def _section_image(section: Section, scores: pd.DataFrame) -> str | None:
    return _uri(section.plot(scores)) if section.plot is not None else None


def _field_type(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column):
        return "bool"
    if pd.api.types.is_integer_dtype(column):
        return "int"
    if pd.api.types.is_float_dtype(column):
        return "float"
    return "text"


def _row_store(scores, names, tables, extra_fields) -> dict:
    """Each picked row once, as a list of values in `fields` order; tables refer to rows by store index."""
    fields = {**BASE_FIELDS, **extra_fields}
    picked = np.unique(np.concatenate([t["positions"] for t in tables])) if tables else np.array([], dtype=int)
    class_index = {n: i for i, n in enumerate(names)}
    sub = scores.iloc[picked]
    columns, texts_cut = [], 0
    refs: list = []
    for key, (source, _, kind) in fields.items():
        values = sub[source] if source in sub.columns else pd.Series([None] * len(sub))
        if kind == "id":  # a string: JavaScript numbers lose integers above 2**53
            columns.append([_id_text(v) for v in values.tolist()])
        elif kind == "evidence":
            columns.append(_evidence(scores, picked, names, refs))
        elif kind == "label":
            columns.append([class_index.get(str(v)) for v in values.tolist()])
        elif kind == "text":
            raw = values.tolist()
            columns.append([_cut(v) for v in raw])
            if key == "text":
                texts_cut = sum(isinstance(v, str) and len(v) > CELL_TEXT_CHARS for v in raw)
        elif kind == "float":
            columns.append([_finite(v) for v in values.tolist()])
        elif kind == "bool":
            columns.append([None if v is None or v != v else bool(v) for v in values.tolist()])
        else:
            columns.append([plain(v, cell=True) for v in values.tolist()])
    rows = [list(r) for r in zip(*columns)] if columns else []
    where = {int(p): i for i, p in enumerate(picked)}
    for table in tables:
        table["spec"] = {"columns": table["columns"], "filters": table["filters"],
                         "rows": [where[int(p)] for p in table["positions"]], "total": int(table["total"])}
    field_list = [{"key": k, "label": heading, "type": kind} for k, (_, heading, kind) in fields.items()]
    for table in tables:
        table["headings"] = [(c, fields[c][1]) for c in table["columns"]]
    return {"fields": field_list, "rows": rows, "texts_cut": texts_cut, "refs": refs}


def _id_text(value) -> str:
    return str(plain(value, cell=True))


def _evidence(scores: pd.DataFrame, picked: np.ndarray, names: list[str], refs: list) -> list:
    """Per picked row: {"n": [[ref, cosine], ...] nearest texts, "c": [ref, ...] other copies} or None.

    A ref indexes `refs`, one [id, class index, text] per row mentioned, so a text named by many
    rows is embedded once.
    """
    ids = pd.Index(scores["id"])
    near = _neighbour_positions(scores, picked, ids)
    copies = _copies(scores, picked)
    ref_of: dict[int, int] = {}
    class_index = {n: i for i, n in enumerate(names)}
    given, texts = scores["given_label"].astype(str).to_numpy(), scores["text"].to_numpy()

    def ref(position: int) -> int:
        if position not in ref_of:
            ref_of[position] = len(refs)
            refs.append([_id_text(scores["id"].iat[position]), class_index.get(given[position]),
                         _cut(texts[position], _NEIGHBOUR_TEXT_CHARS)])
        return ref_of[position]

    out = []
    for i in range(len(picked)):
        item = {}
        if near[i]:
            item["n"] = [[ref(p), s] for p, s in near[i]]
        if copies[i]:
            item["c"] = [ref(p) for p in copies[i]]
        out.append(item or None)
    return out


def _neighbour_positions(scores: pd.DataFrame, picked: np.ndarray, ids: pd.Index) -> list[list]:
    """The scores' neighbour ids (JSON lists) of the picked rows, as (position, cosine) pairs."""
    if "neighbour_ids" not in scores.columns or "neighbour_similarities" not in scores.columns:
        return [[] for _ in picked]
    raw_ids = scores["neighbour_ids"].to_numpy()[picked]
    raw_sims = scores["neighbour_similarities"].to_numpy()[picked]
    parsed = [(json.loads(a), json.loads(b)) if isinstance(a, str) and a.startswith("[") else ([], [])
              for a, b in zip(raw_ids, raw_sims)]
    flat = [v for near_ids, _ in parsed for v in near_ids]
    positions = iter(ids.get_indexer(flat).tolist() if flat else [])
    out = []
    for near_ids, sims in parsed:
        pairs = [(p, _finite(s)) for p, s in zip((next(positions) for _ in near_ids), sims)]
        out.append([(p, s) for p, s in pairs if p >= 0])
    return out


def _copies(scores: pd.DataFrame, picked: np.ndarray) -> list[list[int]]:
    """Other members of each picked row's duplicate group (at most `_MAX_COPIES`, by rank)."""
    if "duplicate_group" not in scores.columns:
        return [[] for _ in picked]
    group = pd.to_numeric(scores["duplicate_group"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    wanted = np.unique(group[picked][group[picked] >= 0])
    members = np.flatnonzero(np.isin(group, wanted))
    members = members[np.argsort(scores["rank"].to_numpy()[members], kind="stable")]
    by_group: dict[int, list[int]] = {}
    for m in members.tolist():
        by_group.setdefault(int(group[m]), []).append(m)
    return [[m for m in by_group.get(int(group[p]), []) if m != p][:_MAX_COPIES] if group[p] >= 0 else []
            for p in picked.tolist()]


def _relabel_config(result, store: dict, suspects_shown: list[int], positions) -> dict:
    """What the page's relabelling needs: a storage key for this run, and how to write suspects.csv.

    `columns` pairs each suspects.csv column with the page field holding it; a column no field holds
    (such as what_to_check) comes from `suspects_frame` itself, one value per shown suspect, in `extra`.
    """
    from ..annotate.export import ANNOTATION_COLUMNS, SUSPECT_COLUMNS, suspects_frame

    source_key = {source: key for key, (source, _, _) in BASE_FIELDS.items()}
    columns = [[c, source_key.get(c)] for c in SUSPECT_COLUMNS]
    unmapped = [c for c, key in columns if key is None and c not in ANNOTATION_COLUMNS]
    frame = suspects_frame(result.scores.iloc[np.asarray(positions, dtype=np.int64)]) if unmapped else None
    extra = {c: [plain(v, cell=True) for v in frame[c].tolist()] for c in unmapped} if frame is not None else {}
    return {"key": _relabel_key(result, store, suspects_shown), "columns": columns, "extra": extra,
            # suspects.csv neutralises formula-like ids only when they are strings; so does the page.
            "id_is_text": not pd.api.types.is_integer_dtype(result.scores["id"])}


def _relabel_key(result, store: dict, suspects_shown: list[int]) -> str:
    """The browser-storage key of a run's decisions: the run, its data, its classes and the suspects
    shown (id and given label), so a re-run with other suspects starts afresh. Multi-label pages use it too."""
    fields = [f["key"] for f in store["fields"]]
    id_at, given_at = fields.index("id"), fields.index("given")
    digest = hashlib.sha256()
    for part in (result.run.get("fingerprint") or "", (result.run.get("data") or {}).get("source") or "",
                 len(result.scores), *result.class_names):
        digest.update(f"{part}\x00".encode("utf-8"))
    for row in suspects_shown:
        digest.update(f"{store['rows'][row][id_at]}\x00{store['rows'][row][given_at]}\x00".encode("utf-8"))
    return digest.hexdigest()[:24]


def _cut(value, limit: int = CELL_TEXT_CHARS):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit:,} more characters]"


def _finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return round(value, 4) if math.isfinite(value) else None


def _json_for_script(obj) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can end the element."""
    import markupsafe

    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return markupsafe.Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# ---------------------------------------------------------------------------------------------- filters


def _num(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _pct(value, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _duration(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
