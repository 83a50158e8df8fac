"""The annotators' table of suspects, shared by the single- and multi-label suspects files."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["suspect_positions", "ranked_suspects", "suspect_table"]


def suspect_positions(scores: pd.DataFrame, top: int | None = None) -> np.ndarray:
    """Positions of the rows a suspects file writes, in its order: the rows flagged as label issues by rank;
    with `top`, the `top` most suspect whether flagged or not."""
    order = np.argsort(scores["rank"].to_numpy(), kind="stable")
    return order[:top] if top is not None else order[scores["is_label_issue"].astype(bool).to_numpy()[order]]


def ranked_suspects(scores: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """The rows of `suspect_positions` (single- and multi-label suspects files)."""
    return scores.iloc[suspect_positions(scores, top)]


def suspect_table(chosen: pd.DataFrame, columns, filled: dict, rounded=()) -> pd.DataFrame:
    """The annotators' table: `columns` taken from `chosen` (the `rounded` ones to 4 decimals), or from
    `filled` (a column of values, or one value for every row: the blanks annotators fill in)."""
    def column(name):
        if name in filled:
            return filled[name]
        values = chosen[name].round(4) if name in rounded else chosen[name]
        return values.to_numpy()

    return pd.DataFrame({name: column(name) for name in columns}, columns=columns)
