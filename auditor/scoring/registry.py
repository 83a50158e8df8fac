"""A signal is one declaration: its scorer, the columns it writes, how they rank, its flag, its words,
its report section and its benchmark names. Each scorer module declares its own `SIGNAL`; the package
collects them here once, and config, combine, the report and the benchmark read from here.

A scorer is `scorer(labels, pred_probs, <inputs>)`: the keyword parameters of its signature are the inputs
it declares (texts, ids, class_names, embeddings, dynamics, score_method, duplicate_threshold, seed), and
`score_all` passes it those, no others.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Score", "Section", "Signal", "SIGNALS", "register", "signal_names", "default_signals",
           "scores_of", "sections", "words"]


@dataclass(frozen=True)
class Score:
    """One column of a signal read as "how suspect": `name` is its key in `combine.signal_scores`.

    direction "higher": the column itself; "lower": lower is more suspect, so the suspicion is 1 − value
    (`unit=True`, a probability-like value in [0, 1]) or −value (`unit=False`).
    """

    name: str
    column: str
    direction: str = "higher"
    unit: bool = True

    def suspicion(self, table: pd.DataFrame) -> np.ndarray:
        values = table[self.column].to_numpy(dtype=float)
        if self.direction == "higher":
            return values
        return 1.0 - values if self.unit else -values


@dataclass(frozen=True)
class Section:
    """An optional report section, shown only when the scores table has `column`.

    kind "score": the rows with the highest (or lowest, `descending=False`) value of `column`;
    kind "group": rows with a non-empty `column`, grouped by its value, most suspect group member first.
    `plot`, if given, takes the scores table and returns a matplotlib Axes shown above the table.
    """

    column: str
    title: str
    description: str
    kind: str = "score"
    descending: bool = True
    extra_columns: tuple[str, ...] = ()
    plot: Callable | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return "signal-" + "".join(ch if ch.isalnum() else "-" for ch in self.column)


@dataclass(frozen=True)
class Signal:
    """Everything the package knows about one signal.

    - `name`: what `--signals` / `signals=` call it; `scorer` computes its columns (`columns`, the first
      one marks it present in a scores table).
    - `scores`: its columns as suspicion scores (see `Score`); `flag`: its yes/no issue column, which
      sets `is_label_issue` when `flags_label_issue`.
    - `reason`: its words per row ("" when silent): the name of a column of words it writes, or
      `reason(table, labels, pred_probs, class_names)` reading its `flag` column; `reason_order`: where
      they stand in a row's reasons (lower first).
    - `section`: its report section; `benchmark`: (benchmark name, score name, cleanlab score method)
      per ranking the detection benchmark compares.
    - `core`: always runs (the ranking needs it); `default`: runs when no `--signals` is given;
      `order`: its place among the scores table's columns and in `--signals` lists.
    """

    name: str
    scorer: Callable = field(compare=False)
    columns: tuple[str, ...]
    scores: tuple[Score, ...] = ()
    flag: str | None = None
    flags_label_issue: bool = False
    reason: str | Callable | None = field(default=None, compare=False)
    reason_order: int = 100
    section: Section | None = None
    benchmark: tuple[tuple[str, str, str], ...] = ()
    core: bool = False
    default: bool = False
    order: int = 100

    @property
    def inputs(self) -> tuple[str, ...]:
        """The keyword inputs the scorer declares (its parameters after labels and pred_probs)."""
        params = list(inspect.signature(self.scorer).parameters.values())[2:]
        if any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params):
            raise TypeError(f"signal {self.name!r}: the scorer must name its inputs, not take **kwargs")
        return tuple(p.name for p in params)

    def reasons(self, table: pd.DataFrame, labels, pred_probs, class_names) -> np.ndarray | None:
        """Its words per row, or None when `table` lacks what they come from."""
        if isinstance(self.reason, str):
            return words(table[self.reason]) if self.reason in table else None
        if self.reason is None or self.flag not in table:
            return None
        return np.asarray(self.reason(table, labels, pred_probs, class_names), dtype=object)


SIGNALS: dict[str, Signal] = {}


def register(signal: Signal) -> Signal:
    """Add `signal` (each module's `SIGNAL`, once, at import); the registry stays sorted by `order`."""
    if signal.name in SIGNALS and SIGNALS[signal.name] != signal:
        raise ValueError(f"signal {signal.name!r} is registered twice")
    signal.inputs  # fails now, not at the first run, on a scorer with **kwargs
    SIGNALS[signal.name] = signal
    ordered = sorted(SIGNALS.values(), key=lambda s: s.order)
    SIGNALS.clear()
    SIGNALS.update((s.name, s) for s in ordered)
    return signal


def signal_names() -> tuple[str, ...]:
    return tuple(SIGNALS)


def default_signals() -> tuple[str, ...]:
    return tuple(s.name for s in SIGNALS.values() if s.core or s.default)


def scores_of(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each score of each signal present in `table`, higher = more suspect."""
    return {score.name: score.suspicion(table)
            for signal in SIGNALS.values() for score in signal.scores if score.column in table}


def sections() -> tuple[Section, ...]:
    return tuple(s.section for s in SIGNALS.values() if s.section is not None)


def words(column) -> np.ndarray:
    """A reason column with every non-string (None, NaN) as ""."""
    return np.array([v if isinstance(v, str) else "" for v in np.asarray(column, dtype=object)], dtype=object)
