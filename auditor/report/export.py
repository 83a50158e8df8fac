"""The annotators' CSV: most suspect first, spreadsheet-safe."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import OptionError

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
    "corrected_label",
    "note",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
            "corrected_label": "",
            "note": "",
        }
    )


def neutralise_formula(value):
    """A cell a spreadsheet would evaluate (=, +, -, @ ...) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
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
    from ..result import load_run

    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise OptionError(f"The 'top' option must be an int >= 1. Got {top!r} instead.")
    result = load_run(run_dir)
    if result.metrics.get("task") == "multi-label":  # hook: label sets (auditor.multilabel)
        from ..multilabel.result import suspects_frame as frame_of, write_suspects as write
    else:
        frame_of, write = suspects_frame, write_suspects
    frame = frame_of(result.scores, top)
    path = Path(out) if out is not None else Path(run_dir) / "suspects.csv"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(frame, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, len(frame)
