"""The annotators' CSV: most suspect first, spreadsheet-safe."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import OptionError
from ..runfiles import read_run

__all__ = ["SUSPECT_COLUMNS", "suspects_frame", "write_suspects", "neutralise_formula", "export_suspects"]

SUSPECT_COLUMNS = [
    "id",
    "text",
    "given_label",
    "suggested_label",
    "suggested_label_probability",
    "loss",
    "label_quality",
    "reasons",
    "neighbours",
    "corrected_label",
    "note",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def suspects_frame(scores: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Flagged rows ordered by rank; with `top`, the `top` most suspect rows whether flagged or not."""
    ranked = scores.sort_values("rank", kind="stable")
    chosen = ranked.head(top) if top is not None else ranked[ranked["is_label_issue"]]
    return pd.DataFrame(
        {
            "id": chosen["id"].to_numpy(),
            "text": chosen["text"].to_numpy(),
            "given_label": chosen["given_label"].to_numpy(),
            "suggested_label": chosen["suggested_label"].to_numpy(),
            "suggested_label_probability": chosen["suggested_label_probability"].round(4).to_numpy(),
            "loss": chosen["loss_score"].round(4).to_numpy(),
            "label_quality": chosen["label_quality_score"].round(4).to_numpy(),
            "reasons": chosen["reasons"].to_numpy(),
            # Read by annotators: the nearest texts' labels (scoring/neighbours.py); "" for older runs.
            "neighbours": chosen["neighbours"].to_numpy() if "neighbours" in chosen else "",
            "corrected_label": "",
            "note": "",
        }
    )


def neutralise_formula(value):
    """A cell a spreadsheet would evaluate (=, +, -, @ ...) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_suspects(frame: pd.DataFrame, path: Path) -> None:
    safe = frame.copy()
    for column in ("id", "text", "given_label", "suggested_label", "reasons"):
        safe[column] = safe[column].map(neutralise_formula)
    # utf-8-sig: the BOM makes Excel read UTF-8 instead of the local code page.
    safe.to_csv(path, index=False, encoding="utf-8-sig")


def export_suspects(run_dir, top: int | None = None, out=None) -> tuple[Path, int]:
    """Rewrite a run's suspects.csv (or write `out`) from its saved scores; returns (path, rows)."""
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise OptionError(f"The 'top' option must be an int >= 1. Got {top!r} instead.")
    frame = suspects_frame(read_run(run_dir)["scores"], top)
    path = Path(out) if out is not None else Path(run_dir) / "suspects.csv"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write_suspects(frame, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, len(frame)
