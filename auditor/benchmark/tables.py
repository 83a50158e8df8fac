"""The benchmark's tables: mean ± std over seeds per (noise, method), as CSV and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..safeio import safe_write

__all__ = ["METRIC_COLUMNS", "summarize", "markdown_table", "write_results"]

METRIC_COLUMNS = [
    ("average_precision", "AP"), ("precision_at_k", "P@k"), ("recall_at_k", "R@k"),
    ("recall_at_2pct", "R@2%"), ("recall_at_5pct", "R@5%"), ("auroc", "AUROC"),
    ("flag_precision", "flag P"), ("flag_recall", "flag R"), ("flag_f1", "flag F1"),
    ("accuracy", "acc."), ("ece", "ECE"),  # of the probabilities, against the clean labels
]


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds per (noise, method), in the order the methods ran."""
    order = {name: i for i, name in enumerate(dict.fromkeys(rows["method"]))}
    noise_order = {name: i for i, name in enumerate(dict.fromkeys(rows["noise"]))}
    metrics = [c for c, _ in METRIC_COLUMNS if c in rows] + [c for c in ("seconds", "peak_rss_mb") if c in rows]
    grouped = rows.groupby(["noise", "method"], sort=False)[metrics]
    table = grouped.mean().join(grouped.std(ddof=0).add_suffix("_std")).join(grouped.size().rename("seeds"))
    table = table.reset_index()
    table["_noise"], table["_order"] = table["noise"].map(noise_order), table["method"].map(order)
    table = table.sort_values(["_noise", "_order"], kind="stable").drop(columns=["_noise", "_order"])
    return table.reset_index(drop=True)


def markdown_table(summary: pd.DataFrame, noise: str) -> str:
    """One noise setting's results as a Markdown table (AP as mean ± std over seeds)."""
    part = summary[summary["noise"] == noise]
    header = ["method", *[label for _, label in METRIC_COLUMNS], "s / run", "peak RSS MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in part.iterrows():
        cells = [row["method"]]
        for column, _ in METRIC_COLUMNS:
            value = row.get(column, np.nan)
            if pd.isna(value):
                cells.append("–")
            elif column == "average_precision":
                cells.append(f"{value:.3f} ± {row['average_precision_std']:.3f}")
            else:
                cells.append(f"{value:.3f}")
        cells.append("–" if pd.isna(row["seconds"]) else f"{row['seconds']:.0f}")
        rss = row.get("peak_rss_mb", np.nan)
        cells.append("–" if pd.isna(rss) else f"{rss:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(out: Path, result: dict, info: dict) -> str:
    """results.csv (per seed), summary.csv, summary.md, suspects.csv and bench.json; returns the Markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(result["rows"])
    text = [f"# Detection benchmark ({info.get('rows')} rows, seeds {info.get('seeds')}, {info.get('folds')}-fold)"]
    for setting in dict.fromkeys(summary["noise"]):
        text += ["", f"## {setting}", "", markdown_table(summary, setting)]
    if len(result["suspects"]):
        text += ["", "Top 50 unplanted suspects with a conflicting exact duplicate (mean over seeds):", ""]
        agg = result["suspects"].groupby(["noise", "method"], sort=False)["with_conflicting_duplicate"].mean()
        text += [f"- {noise}, {method}: {value:.1f} / 50" for (noise, method), value in agg.items()]
    markdown = "\n".join(text) + "\n"
    texts = {"results.csv": result["rows"].to_csv(index=False), "summary.csv": summary.to_csv(index=False),
             "suspects.csv": result["suspects"].to_csv(index=False), "summary.md": markdown,
             "bench.json": json.dumps({**info, "source_seconds": result["seconds"]}, indent=2)}
    safe_write({out / name: _utf8(text) for name, text in texts.items()}, overwrite=True)
    return markdown


def _utf8(text: str):
    return lambda handle: handle.write(text.encode("utf-8"))
