"""`audit(df, task="multi-label", ...)`: the Python API's multi-label path, the CLI's `run` without files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import DataConfig, RunConfig, TrainConfig
from ..errors import OptionError
from .data import frame_looks_multilabel, load_multilabel, looks_multilabel, multilabel_from_frame

__all__ = ["audit_multilabel_frame", "looks_multilabel_input"]


def looks_multilabel_input(data, label_column, label_columns, label_separator, label_names) -> bool:
    if label_columns or label_separator or label_names:
        return True
    if isinstance(data, (str, Path)):
        return looks_multilabel(DataConfig(source=str(data), label_column=label_column))
    frame = _frame(data)
    return frame is not None and frame_looks_multilabel(frame, label_column)


def _frame(data):
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    to_pandas = getattr(data, "to_pandas", None)  # a datasets.Dataset
    return to_pandas() if callable(to_pandas) and not isinstance(data, dict) else None


def audit_multilabel_frame(data, *, text_column, label_column, id_column, split, config_name, method, folds, model,
                           seed, signals, duplicate_threshold, epochs, batch_size, learning_rate, max_length, truncation, verbose,
                           label_columns, label_separator, label_names, pred_probs, train_data):
    from ..pipeline import Progress
    from .pipeline import audit_multilabel

    if pred_probs is not None or train_data is not None:
        raise OptionError("pred_probs and train_data are not available for multi-label data yet.")
    if not isinstance(label_columns, (str, type(None))):
        label_columns = ",".join(str(c) for c in label_columns)
    names_file = str(label_names) if isinstance(label_names, (str, Path)) else None
    columns = dict(text_column=text_column, label_column=label_column, id_column=id_column, split=split,
                   config_name=config_name, label_columns=label_columns, label_separator=label_separator,
                   label_names=names_file)
    train = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, max_length=max_length,
                        truncation=truncation, **({"model": model} if model else {}))
    if isinstance(data, (str, Path)):
        cfg = DataConfig(source=str(data), **columns)
        loaded = load_multilabel(cfg)
    else:
        frame = _frame(data)
        if frame is None:
            raise OptionError(f"data must be a pandas DataFrame, a datasets.Dataset, a path or a Hub id. "
                              f"Got {type(data).__name__} instead.")
        cfg = DataConfig(source="<DataFrame>", **columns)
        names = list(label_names) if label_names is not None and names_file is None else None
        loaded = multilabel_from_frame(frame, cfg, fmt="frame", class_names=names)
    config = RunConfig(data=cfg, train=train, method=method, folds=folds, seed=seed, signals=signals,
                       duplicate_threshold=duplicate_threshold, quiet=not verbose, command="auditor.audit(...)",
                       task="multi-label")
    return audit_multilabel(loaded, config, Progress(quiet=not verbose))
