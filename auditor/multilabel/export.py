"""The annotators' CSV of a multi-label run: given set → suggested set, `corrected_labels` to fill in."""

from __future__ import annotations

import pandas as pd

from ..annotate.suspects import ranked_suspects, suspect_table

__all__ = ["SUSPECT_COLUMNS", "suspects_frame", "write_suspects"]

# rank and score names as in scores.csv (and the single-label suspects.csv), so a sorted sheet can be restored.
SUSPECT_COLUMNS = ["rank", "id", "text", "given_labels", "suggested_labels", "missing_label", "spurious_label",
                   "label_quality_score", "reasons", "corrected_labels", "note"]


def suspects_frame(scores: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Flagged rows by rank (or the `top` most suspect); `corrected_labels` left for annotators: a set
    in the input's separator, blank = keep, DELETE = delete the example."""
    chosen = ranked_suspects(scores, top)
    return suspect_table(chosen, SUSPECT_COLUMNS, {"corrected_labels": "", "note": ""},
                         rounded=("label_quality_score",))


def write_suspects(frame: pd.DataFrame, handle) -> None:
    """The annotators' CSV into a binary handle: spreadsheet-safe cells, a BOM so Excel reads UTF-8."""
    from ..safeio import neutralise

    safe = frame.copy()
    for column in ("id", "text", "given_labels", "suggested_labels", "missing_label", "spurious_label", "reasons"):
        safe[column] = safe[column].map(neutralise)
    handle.write(safe.to_csv(index=False).encode("utf-8-sig"))
