"""Cross-entropy loss of the given label under out-of-sample probabilities (the book's per-example loss)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import Score, Signal

EPS = 1e-12


def cross_entropy(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    p = pred_probs[np.arange(len(labels)), labels]
    return -np.log(np.clip(p, EPS, 1.0))


def score_loss(labels, pred_probs) -> pd.DataFrame:
    """`loss_score`: cross-entropy of the given label; `is_loss_issue`: the model prefers another class."""
    loss = cross_entropy(labels, pred_probs)
    return pd.DataFrame({"loss_score": loss, "is_loss_issue": pred_probs.argmax(axis=1) != labels})


SIGNAL = Signal(
    "loss", score_loss, columns=("loss_score", "is_loss_issue"), scores=(Score("loss", "loss_score"),),
    flag="is_loss_issue", benchmark=(("loss", "loss", "self_confidence"),), core=True, order=0,
)
