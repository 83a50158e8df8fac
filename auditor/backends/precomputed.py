"""Probabilities the user already has (`--pred-probs FILE.npy`), validated before use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

TOLERANCE = 1e-3


def load_pred_probs(path: str, n_rows: int, n_classes: int) -> np.ndarray:
    file = Path(path)
    if not file.is_file():
        raise DataError(f"--pred-probs {path}: no such file; expected a .npy array of shape ({n_rows}, {n_classes}).")
    try:
        probs = np.load(file, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError for broken files
        raise DataError(f"--pred-probs {path}: cannot be read as a .npy array ({type(exc).__name__}).") from None
    if isinstance(probs, np.lib.npyio.NpzFile):
        raise DataError(f"--pred-probs {path}: is an .npz archive; expected a single .npy array.")
    return check_pred_probs(probs, n_rows, n_classes, f"--pred-probs {path}")


def check_pred_probs(probs, n_rows: int, n_classes: int, where: str = "pred_probs") -> np.ndarray:
    probs = np.asarray(probs)
    if probs.shape != (n_rows, n_classes):
        raise DataError(
            f"{where}: shape {probs.shape}; expected ({n_rows}, {n_classes}): one row per example, "
            "one column per class."
        )
    if not np.issubdtype(probs.dtype, np.number):
        raise DataError(f"{where}: dtype {probs.dtype}; expected numbers.")
    probs = probs.astype(np.float64)
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


def _row_text(row: np.ndarray, shown: int = 6) -> str:
    """A row's first values for an error message (rows are numbered from 1, like data rows)."""
    values = ", ".join(f"{v:.4g}" for v in row[:shown])
    return f"[{values}{', ...' if len(row) > shown else ''}]"
