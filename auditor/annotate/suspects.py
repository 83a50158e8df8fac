"""The annotators' table of suspects, shared by the single- and multi-label suspects files."""

from __future__ import annotations

import pandas as pd

__all__ = ["ranked_suspects", "suspect_table"]


def ranked_suspects(scores: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """The rows flagged as label issues by rank; with `top`, the `top` most suspect whether flagged or not
    (single- and multi-label suspects files)."""
    ranked = scores.sort_values("rank", kind="stable")
    return ranked.head(top) if top is not None else ranked[ranked["is_label_issue"].astype(bool)]


def suspect_table(chosen: pd.DataFrame, columns, filled: dict, rounded=()) -> pd.DataFrame:
    """The annotators' table: `columns` taken from `chosen` (the `rounded` ones to 4 decimals), or from
    `filled` (a column of values, or one value for every row: the blanks annotators fill in)."""
    def column(name):
        if name in filled:
            return filled[name]
        values = chosen[name].round(4) if name in rounded else chosen[name]
        return values.to_numpy()

    return pd.DataFrame({name: column(name) for name in columns}, columns=columns)
