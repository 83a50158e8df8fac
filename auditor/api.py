"""The Python API: `audit(...)` on a DataFrame, a `datasets.Dataset`, a path or a Hub id.

The CLI's `run` goes through the same `pipeline.audit_data`, so both give the same scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import DataConfig, RunConfig, TrainConfig
from .data import AuditData, class_label_names, from_frame, load_data
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
    config_name: str | None = None,
    method: str = "auto",
    folds: int = 5,
    model: str | None = None,
    seed: int = 0,
    pred_probs=None,
    score_method: str = "self_confidence",
    signals=None,
    duplicate_threshold: float = RunConfig.duplicate_threshold,
    train_data=None,
    epochs: float | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    max_length: int | None = None,
    truncation: str = TrainConfig.truncation,
    verbose: bool = True,
    task: str = "auto",
    label_columns=None,
    label_separator: str | None = None,
    label_names: str | None = None,
) -> AuditResult:
    """Audit labelled texts and return an :class:`AuditResult`.

    `data` is a pandas DataFrame, a `datasets.Dataset`, a `datasets.DatasetDict` (with `split=`),
    a file path or a Hugging Face dataset id (`config_name=` for a Hub configuration). Every option
    is the CLI's `run` option of the same name:

    - `pred_probs` (an array or a `.npy` path) skips training;
    - `signals`: a comma string or a list from `auditor.config.SIGNALS`, or "all" / "none"
      (None: the default set);
    - `train_data` (anything `data` may be, with the same columns) trains once on it and scores
      `data`, the book's train-then-score-validation set-up, instead of k-fold;
    - `task="multi-label"` (or "auto" when the labels are lists or joined ids): label sets in
      `label_column` (lists, or strings joined by `label_separator`), or one 0/1 column per label
      (`label_columns`: a list or "a,b,c" or a prefix "emo_*"); `label_names` maps integer ids to names
      (a file, one name per line, or a list). Returns a `MultiLabelResult` (docs/multilabel.md).
      `pred_probs` then holds one probability per label (rows need not sum to 1); `train_data` holds sets.

    Errors in the input raise `auditor.AuditorError` (its `param`: the parameter at fault) with the CLI's
    message, worded for Python: `text_column=` where the CLI says `--text-column`.
    """
    if task == "multi-label" or (task == "auto" and _multilabel_args(data, label_column, label_columns,
                                                                     label_separator, label_names)):
        from .multilabel.api import audit_multilabel_frame

        return audit_multilabel_frame(
            data, text_column=text_column, label_column=label_column, id_column=id_column, split=split,
            config_name=config_name, method=method, folds=folds, model=model, seed=seed, signals=_signals_text(signals),
            duplicate_threshold=duplicate_threshold, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
            max_length=max_length, truncation=truncation, verbose=verbose, label_columns=label_columns, label_separator=label_separator,
            label_names=label_names, pred_probs=pred_probs, train_data=train_data)
    train = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, max_length=max_length,
                        truncation=truncation, **({"model": model} if model else {}))
    columns = dict(text_column=text_column, label_column=label_column, id_column=id_column, split=split,
                   config_name=config_name)
    probs_path = str(pred_probs) if isinstance(pred_probs, (str, Path)) else None
    config = RunConfig(train=train, method=method, folds=folds, seed=seed, score_method=score_method,
                       signals=_signals_text(signals), duplicate_threshold=duplicate_threshold,
                       pred_probs=probs_path, quiet=not verbose, command="auditor.audit(...)")
    kfold = pred_probs is None and train_data is None
    loaded = _load(data, columns, config.folds if kfold else 1)
    # As the CLI's --train-data: the same text and label columns; a Hub id's "train" split.
    train_columns = dict(columns, id_column=None, split=None, config_name=None)
    trained_on = _load(train_data, train_columns, 1, "train_data ") if train_data is not None else None
    config = config.replace(
        data=DataConfig(source=loaded.source, **columns),
        train_data=DataConfig(source=trained_on.source, **train_columns) if trained_on is not None else None,
    )
    progress = Progress(quiet=not verbose)
    progress.bars = verbose
    array = None if pred_probs is None or probs_path else np.asarray(pred_probs)
    return audit_data(loaded, config, progress, train=trained_on, pred_probs=array)


def _multilabel_args(data, label_column, label_columns, label_separator, label_names) -> bool:
    """task="auto": multi-label options given, or the label column holds lists or joined ids (hook)."""
    from .multilabel.api import looks_multilabel_input

    return looks_multilabel_input(data, label_column, label_columns, label_separator, label_names)


def _signals_text(signals) -> str | None:
    """The CLI's comma form of `signals` (a string already is one); RunConfig validates the names."""
    if signals is None or isinstance(signals, str):
        return signals
    try:
        return ",".join(str(s) for s in signals)
    except TypeError:
        raise OptionError(
            f"The 'signals' parameter must be a comma string or a list of names. Got {signals!r} instead."
        ) from None


def _load(data, columns: dict, min_per_class: int, role: str = "") -> AuditData:
    """`role` ("train_data ") names which argument an in-memory table came from in messages."""
    if isinstance(data, (str, Path)):
        return load_data(DataConfig(source=str(data), **columns), min_per_class=min_per_class)
    cfg = DataConfig(source=f"<{role}DataFrame>", **columns)
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
        return _from_dataset(data, columns, min_per_class, role)
    raise OptionError(
        f"data must be a pandas DataFrame, a datasets.Dataset or DatasetDict, a path or a Hub id. "
        f"Got {type(data).__name__} instead."
    )


def _from_dataset(ds, columns: dict, min_per_class: int, role: str = "") -> AuditData:
    names = class_label_names(ds, columns["label_column"])
    cfg = DataConfig(source=f"<{role}Dataset>", **columns)
    return from_frame(ds.to_pandas(), cfg, fmt="dataset", class_names=names, min_per_class=min_per_class)
