"""The Python API: `audit(...)` on a DataFrame, a `datasets.Dataset`, a path or a Hub id.

The CLI's `run` goes through the same `pipeline.audit_data`, so both give the same scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import DataConfig, RunConfig, TrainConfig
from .data import AuditData, from_frame, load_data
from .errors import OptionError
from .pipeline import Progress, audit_data
from .result import AuditResult

__all__ = ["audit"]


def audit(
    data,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    split: str | None = None,
    method: str = "auto",
    folds: int = 5,
    model: str | None = None,
    seed: int = 0,
    pred_probs=None,
    score_method: str = "self_confidence",
    epochs: float | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    max_length: int = 128,
    verbose: bool = True,
) -> AuditResult:
    """Audit labelled texts and return an :class:`AuditResult`.

    `data` is a pandas DataFrame, a `datasets.Dataset`, a `datasets.DatasetDict` (with `split=`),
    a file path or a Hugging Face dataset id. `pred_probs` (an array or a `.npy` path) skips training.
    Errors in the input raise `auditor.AuditorError` with the same message the CLI prints.
    """
    train = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, max_length=max_length,
                        **({"model": model} if model else {}))
    columns = dict(text_column=text_column, label_column=label_column, id_column=id_column, split=split)
    probs_path = str(pred_probs) if isinstance(pred_probs, (str, Path)) else None
    config = RunConfig(train=train, method=method, folds=folds, seed=seed, score_method=score_method,
                       pred_probs=probs_path, quiet=not verbose, command="auditor.audit(...)")
    kfold = pred_probs is None
    loaded = _load(data, columns, config.folds if kfold else 1)
    config = config.replace(data=DataConfig(source=loaded.source, **columns))
    progress = Progress(quiet=not verbose)
    progress.bars = verbose
    array = None if pred_probs is None or probs_path else np.asarray(pred_probs)
    return audit_data(loaded, config, progress, pred_probs=array)


def _load(data, columns: dict, min_per_class: int) -> AuditData:
    if isinstance(data, (str, Path)):
        return load_data(DataConfig(source=str(data), **columns), min_per_class=min_per_class)
    cfg = DataConfig(source="<DataFrame>", **columns)
    if isinstance(data, pd.DataFrame):
        return from_frame(data.reset_index(drop=True), cfg, min_per_class=min_per_class)
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        datasets = None
    if datasets is not None and isinstance(data, datasets.DatasetDict):
        if columns["split"] is None:
            raise OptionError(f"A DatasetDict needs split=; its splits are {list(data)}.")
        if columns["split"] not in data:
            raise OptionError(f"split={columns['split']!r} not found; the splits are {list(data)}.")
        data = data[columns["split"]]
    if datasets is not None and isinstance(data, datasets.Dataset):
        return _from_dataset(data, columns, min_per_class)
    raise OptionError(
        f"data must be a pandas DataFrame, a datasets.Dataset or DatasetDict, a path or a Hub id. "
        f"Got {type(data).__name__} instead."
    )


def _from_dataset(ds, columns: dict, min_per_class: int) -> AuditData:
    import datasets

    from .data import LABEL_CANDIDATES

    label = columns["label_column"] or next((c for c in LABEL_CANDIDATES if c in ds.column_names), None)
    feature = ds.features.get(label) if label else None
    names = list(feature.names) if isinstance(feature, datasets.ClassLabel) else None
    cfg = DataConfig(source="<Dataset>", **columns)
    return from_frame(ds.to_pandas(), cfg, fmt="dataset", class_names=names, min_per_class=min_per_class)
