"""`audit(df, task="multi-label", ...)`: the Python API's multi-label path, the CLI's `run` without files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
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
    from .pipeline import audit_multilabel, train_data_config

    if not isinstance(label_columns, (str, type(None))):
        label_columns = ",".join(str(c) for c in label_columns)
    names_file = str(label_names) if isinstance(label_names, (str, Path)) else None
    columns = dict(text_column=text_column, label_column=label_column, id_column=id_column, split=split,
                   config_name=config_name, label_columns=label_columns, label_separator=label_separator,
                   label_names=names_file)
    train = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, max_length=max_length,
                        truncation=truncation, **({"model": model} if model else {}))
    names = list(label_names) if label_names is not None and names_file is None else None
    cfg, loaded = _load(data, DataConfig(source="<DataFrame>", **columns), names)
    train_cfg, trained_on = None, None
    if train_data is not None:  # as the CLI's --train-data: read as `data` is, without its id column and split
        train_cfg, trained_on = _load(train_data, train_data_config(cfg, "<train_data DataFrame>"), names,
                                      "train_data")
    probs_path = str(pred_probs) if isinstance(pred_probs, (str, Path)) else None
    config = RunConfig(data=cfg, train=train, method=method, folds=folds, seed=seed, signals=signals,
                       duplicate_threshold=duplicate_threshold, quiet=not verbose, command="auditor.audit(...)",
                       task="multi-label", pred_probs=probs_path, train_data=train_cfg)
    array = None if pred_probs is None or probs_path else np.asarray(pred_probs)
    return audit_multilabel(loaded, config, Progress(quiet=not verbose), pred_probs=array, train=trained_on)


def _load(data, cfg: DataConfig, names, role: str = "data"):
    """(the DataConfig, the loaded data) for a path or Hub id, or an in-memory table (`cfg.source` names it)."""
    if isinstance(data, (str, Path)):
        cfg = dataclasses.replace(cfg, source=str(data))
        return cfg, load_multilabel(cfg)
    frame = _frame(data)
    if frame is None:
        raise OptionError(f"{role} must be a pandas DataFrame, a datasets.Dataset, a path or a Hub id. "
                          f"Got {type(data).__name__} instead.")
    return cfg, multilabel_from_frame(frame, cfg, fmt="frame", class_names=names)
