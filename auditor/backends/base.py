"""What every backend module builds on: the `Backend` base class, its output and two array helpers.

Kept apart from the package's `__init__` (the plan and the fold loop, which import the backend modules)
so that a backend module imports only this and no import circle runs through the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

__all__ = ["Backend", "BackendOutput", "normalize_probs", "expand_classes"]


class Backend:
    """What every backend is: texts and labels in, out-of-sample class probabilities out.

    `prepare(texts)` does the work shared by all folds (features, embeddings, tokenisation);
    `fit_predict(train_idx, labels, test_idx)` trains on some rows and returns probabilities for others,
    shape (len(test_idx), n_classes); `details()` is what run.json records about it. The class attributes
    say what else it yields, so the fold loop never probes for methods.
    """

    yields_embeddings: ClassVar[bool] = False  # sets `embeddings` (n × d) in prepare; the scorers use them
    yields_dynamics: ClassVar[bool] = False  # sets `dynamics` (a recorder with `table()`) when recording
    caches_prepared: ClassVar[bool] = False  # prepared_arrays()/restore(): --resume skips prepare's costly part
    caches_folds: ClassVar[bool] = False  # fold_arrays()/restore_fold(): per-fold state kept for --resume
    uses_text_features: ClassVar[bool] = False  # set_text_features(): reads the plan's `text_features`
    runs_on_device: ClassVar[bool] = False  # runs a torch model: the plan records the device (`plan_device`)
    embeddings = None
    dynamics = None

    def __init__(self, n_classes: int, seed: int, train_cfg=None, progress=None, shared: dict | None = None):
        self.n_classes, self.seed, self.train_cfg = n_classes, seed, train_cfg
        self.show_progress = progress is not None and getattr(progress, "bars", False)
        # Work one run's backends can share (the TF-IDF matrix of an ensemble of linear backends).
        self.shared = shared if shared is not None else {}

    @classmethod
    def refits_cheaply(cls, text_features: dict | None) -> bool:
        """Whether a fold fits in seconds with these settings: a plan of such backends gets a cleaned pass."""
        return False

    def prepare(self, texts) -> None:
        raise NotImplementedError

    def fit_predict(self, train_idx, labels, test_idx) -> np.ndarray:
        raise NotImplementedError

    def details(self) -> dict:
        raise NotImplementedError

    def set_text_features(self, settings: dict) -> None:
        """The plan's `text_features` (called only where `uses_text_features`)."""

    def plan(self, splits) -> None:
        """All folds' (train rows, held-out rows) before the first `fit_predict`: a backend that trains
        several folds at once (finetune across GPUs) keeps them; the others need nothing."""

    def prepared_arrays(self) -> dict:
        return {}

    def restore(self, arrays: dict) -> None:
        pass

    def fold_arrays(self, fold: int) -> dict:
        return {}

    def restore_fold(self, fold: int, arrays: dict) -> None:
        pass

    def begin_cleaned_pass(self) -> None:
        """Switch to the settings the cleaned pass's folds train with (`cleaned_pass`); most keep theirs."""


@dataclass
class BackendOutput:
    pred_probs: np.ndarray
    folds: np.ndarray
    embeddings: np.ndarray | None = None
    details: dict = field(default_factory=dict)
    dynamics: object | None = None  # a DataFrame of training-dynamics records (finetune backend only)


def normalize_probs(probs: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows sum to 1, no exact zeros (a class absent from a training fold would give log(0))."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), eps, None)
    return probs / probs.sum(axis=1, keepdims=True)


def expand_classes(probs: np.ndarray, seen_classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Put a classifier's columns (only the classes it saw) into the full class order."""
    full = np.zeros((probs.shape[0], n_classes))
    full[:, np.asarray(seen_classes, dtype=np.int64)] = probs
    return full
