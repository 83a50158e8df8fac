"""Probabilities the user already has (`--pred-probs FILE.npy`; for label sets also a CSV/Parquet table
with one column per label name), validated before use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

TOLERANCE = 1e-3


def load_pred_probs(path: str, n_rows: int, n_classes: int) -> np.ndarray:
    array = read_pred_probs(path, f"a .npy array of shape ({n_rows}, {n_classes})")
    return check_pred_probs(array, n_rows, n_classes, f"--pred-probs {path}")


def load_label_probs(path: str, n_rows: int, class_names) -> np.ndarray:
    """--pred-probs for label sets: one independent probability per label, so rows need not sum to 1. Besides
    a .npy array, a CSV or Parquet table whose columns are the label names (any order) is read."""
    expected = (f"a .npy array of shape ({n_rows}, {len(class_names)}) or a CSV/Parquet table with one column "
                "per label")
    return check_label_probs(read_pred_probs(path, expected, class_names), n_rows, class_names,
                             f"--pred-probs {path}")


def read_pred_probs(path: str, expected: str, class_names=None) -> np.ndarray:
    """The array a --pred-probs file holds; with `class_names`, a .csv/.parquet table is read by column name."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"--pred-probs {path}: no such file; expected {expected}.")
    if class_names is not None and file.suffix.lower() in _TABLES:
        return _read_table(file, f"--pred-probs {path}", [str(c) for c in class_names])
    try:
        probs = np.load(file, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError for broken files
        raise DataError(f"--pred-probs {path}: cannot be read as a .npy array ({type(exc).__name__}).") from None
    if isinstance(probs, np.lib.npyio.NpzFile):
        raise DataError(f"--pred-probs {path}: is an .npz archive; expected a single .npy array.")
    return probs


def check_pred_probs(probs, n_rows: int, n_classes: int, where: str = "pred_probs") -> np.ndarray:
    probs = _numbers(probs, n_rows, n_classes, where, "class")
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: row {row + 1} has NaN or infinite values ({_row_text(probs[row])}); expected probabilities."
        )
    negative = (probs < 0).any(axis=1) | (probs > 1 + TOLERANCE).any(axis=1)
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise DataError(
            f"{where}: row {row + 1} has values outside [0, 1] ({_row_text(probs[row])}); expected probabilities."
        )
    sums = probs.sum(axis=1)
    off = np.abs(sums - 1) > TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise DataError(
            f"{where}: row {row + 1} sums to {sums[row]:.4g} ({_row_text(probs[row])}); "
            "expected each row to sum to 1 (softmax output)."
        )
    return probs / sums[:, None]


def check_label_probs(probs, n_rows: int, class_names, where: str = "pred_probs") -> np.ndarray:
    """Per-label probabilities (multi-label): every value a number in [0, 1]; the first bad one is named."""
    probs = _numbers(probs, n_rows, len(class_names), where, "label")
    bad = ~np.isfinite(probs) | (probs < 0) | (probs > 1 + TOLERANCE)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{where}: row {row + 1}, column {col + 1} (label {str(class_names[col])!r}) holds "
                        f"{probs[row, col]:.4g}; expected a probability in [0, 1].")
    return np.clip(probs, 0.0, 1.0)


def _numbers(probs, n_rows: int, n_classes: int, where: str, unit: str) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.shape != (n_rows, n_classes):
        raise DataError(
            f"{where}: shape {probs.shape}; expected ({n_rows}, {n_classes}): one row per example, "
            f"one column per {unit}."
        )
    if not np.issubdtype(probs.dtype, np.number):
        raise DataError(f"{where}: dtype {probs.dtype}; expected numbers.")
    return probs.astype(np.float64)


_TABLES = (".csv", ".parquet")


def _read_table(file: Path, where: str, names: list[str]) -> np.ndarray:
    """A table with one column per label name; a cell that is no number is named by its row and column."""
    import pandas as pd

    from ..errors import first_line

    parquet = file.suffix.lower() == ".parquet"
    try:
        table = pd.read_parquet(file) if parquet else pd.read_csv(file, dtype=str, keep_default_na=False,
                                                                    encoding="utf-8-sig")
    except Exception as exc:  # pandas and pyarrow raise many types for broken files
        raise DataError(f"{where}: cannot be read as {'Parquet' if parquet else 'CSV'} ({first_line(exc)}).") from None
    columns = [str(c) for c in table.columns]
    unknown, missing = [c for c in columns if c not in names], [n for n in names if n not in columns]
    if unknown or missing or len(columns) != len(names):
        what = f"column {unknown[0]!r} is no label" if unknown else (
            f"no column for label {missing[0]!r}" if missing else "a label's column repeats")
        shown = ", ".join(names) if len(names) <= 12 else ", ".join(names[:12]) + f", ... ({len(names)} labels)"
        raise DataError(f"{where}: {what}; expected one column per label, named as in the data ({shown}).")
    table.columns = columns
    probs = np.empty((len(table), len(names)))
    for j, name in enumerate(names):
        cells = table[name]
        if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
            probs[:, j] = cells.to_numpy(dtype=np.float64)
            continue
        text = cells.astype(str).str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        wrong = numbers.isna() & (text.str.lower() != "nan")
        if wrong.any():
            row = int(np.flatnonzero(wrong.to_numpy())[0])
            raise DataError(f"{where}: row {row + 1}, column {name!r} holds {cells.iat[row]!r}; "
                            "expected a probability in [0, 1].")
        probs[:, j] = numbers.to_numpy(dtype=np.float64)
    return probs


def _row_text(row: np.ndarray, shown: int = 6) -> str:
    """A row's first values for an error message (rows are numbered from 1, like data rows)."""
    values = ", ".join(f"{v:.4g}" for v in row[:shown])
    return f"[{values}{', ...' if len(row) > shown else ''}]"
