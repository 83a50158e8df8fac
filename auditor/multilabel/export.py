"""The annotators' CSV of a multi-label run: given set → suggested set, `corrected_labels` to fill in."""

from __future__ import annotations

import pandas as pd

__all__ = ["SUSPECT_COLUMNS", "suspects_frame", "write_suspects"]

# rank and score names as in scores.csv (and the single-label suspects.csv), so a sorted sheet can be restored.
SUSPECT_COLUMNS = ["rank", "id", "text", "given_labels", "suggested_labels", "missing_label", "spurious_label",
                   "label_quality_score", "reasons", "corrected_labels", "note"]


def suspects_frame(scores: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Flagged rows by rank (or the `top` most suspect); `corrected_labels` left for annotators: a set
    in the input's separator, blank = keep, DELETE = delete the example."""
    ranked = scores.sort_values("rank", kind="stable")
    chosen = ranked.head(top) if top is not None else ranked[ranked["is_label_issue"]]
    return pd.DataFrame({
        "rank": chosen["rank"].to_numpy(),
        "id": chosen["id"].to_numpy(),
        "text": chosen["text"].to_numpy(),
        "given_labels": chosen["given_labels"].to_numpy(),
        "suggested_labels": chosen["suggested_labels"].to_numpy(),
        "missing_label": chosen["missing_label"].to_numpy(),
        "spurious_label": chosen["spurious_label"].to_numpy(),
        "label_quality_score": chosen["label_quality_score"].round(4).to_numpy(),
        "reasons": chosen["reasons"].to_numpy(),
        "corrected_labels": "",
        "note": "",
    }, columns=SUSPECT_COLUMNS)


def write_suspects(frame: pd.DataFrame, handle) -> None:
    """The annotators' CSV into a binary handle: spreadsheet-safe cells, a BOM so Excel reads UTF-8."""
    from ..safeio import neutralise

    safe = frame.copy()
    for column in ("id", "text", "given_labels", "suggested_labels", "missing_label", "spurious_label", "reasons"):
        safe[column] = safe[column].map(neutralise)
    handle.write(safe.to_csv(index=False).encode("utf-8-sig"))
