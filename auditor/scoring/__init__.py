"""Scorers: pure functions of arrays (labels, pred_probs, ...) that return one column group per signal.

Each module here that defines `SIGNAL` (an `auditor.scoring.registry.Signal`) is found and registered
on import: adding a signal is adding one module. Its scorer returns a DataFrame with one row per example
(in input order). `score_all` runs the selected scorers and joins their columns; `combine.combine` ranks
the result.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pandas as pd

from .registry import SIGNALS, Signal, default_signals, register

__all__ = ["SIGNALS", "CORE_SIGNALS", "DEFAULT_SIGNALS", "Signal", "score_all", "register"]

for _module in pkgutil.iter_modules(__path__):
    _signal = getattr(importlib.import_module(f"{__name__}.{_module.name}"), "SIGNAL", None)
    if isinstance(_signal, Signal):
        register(_signal)

# The ranking needs the core signals (loss, label quality), so they always run; the others are chosen
# with --signals, and the default ones run without it.
CORE_SIGNALS = tuple(s.name for s in SIGNALS.values() if s.core)
DEFAULT_SIGNALS = default_signals()


def score_all(labels, pred_probs, signals=DEFAULT_SIGNALS, **inputs) -> pd.DataFrame:
    """Run each named scorer and join its columns, one row per example in input order.

    Each scorer gets the `inputs` it declares (texts, ids, class_names, embeddings, dynamics,
    score_method, duplicate_threshold, seed); an input no registered scorer declares is an error.
    """
    known = {name for s in SIGNALS.values() for name in s.inputs}
    unknown = sorted(set(inputs) - known)
    if unknown:
        raise TypeError(f"score_all() got inputs no scorer takes: {', '.join(unknown)}")
    labels = np.asarray(labels)
    pred_probs = np.asarray(pred_probs)
    parts = []
    for name in signals:
        signal = SIGNALS[name]
        parts.append(signal.scorer(labels, pred_probs, **{k: inputs[k] for k in signal.inputs if k in inputs}))
    table = pd.concat(parts, axis=1)
    assert len(table) == len(labels)
    return table
