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
        raise DataError(f"{where}: row {int(np.flatnonzero(bad)[0])} has NaN or infinite values; expected probabilities.")
    negative = (probs < 0).any(axis=1) | (probs > 1 + TOLERANCE).any(axis=1)
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise DataError(f"{where}: row {row} has values outside [0, 1]; expected probabilities.")
    sums = probs.sum(axis=1)
    off = np.abs(sums - 1) > TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise DataError(f"{where}: row {row} sums to {sums[row]:.4g}; expected each row to sum to 1 (softmax output).")
    return probs / sums[:, None]
