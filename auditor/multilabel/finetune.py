"""`finetune` for label sets: the k-fold `FinetuneBackend` with a multi-label head
(problem_type="multi_label_classification": the model trains on BCE-with-logits, one sigmoid per label),
and its training dynamics per label."""

from __future__ import annotations

import functools

import numpy as np

from ..backends.finetune import FinetuneBackend, load_classifier

__all__ = ["MultiLabelFinetune", "DYNAMICS_COLUMNS", "label_agreement"]

# The single-label recorder's columns and `label`, the most doubted label at that checkpoint.
DYNAMICS_COLUMNS = ("row", "fold", "epoch", "p_given", "margin", "correct", "label")


def multilabel_metrics(eval_pred) -> dict:
    """Micro F1 at 0.5, the usual multi-label figure (the Trainer logs it per fold)."""
    from sklearn.metrics import f1_score

    logits, labels = eval_pred
    return {"f1_micro": f1_score(np.asarray(labels) > 0.5, np.asarray(logits) > 0, average="micro", zero_division=0)}


def label_agreement(logits: np.ndarray, labels: np.ndarray) -> dict:
    """One training-dynamics checkpoint of label sets, per row: the most doubted label (`label`), the
    probability the model gives its GIVEN state (`p_given`: p where labelled, 1 − p where not), that
    state's log-odds (`margin`, the per-label counterpart of the margin in "area under the margin"), and
    whether every label's given state is predicted at 0.5 (`correct`)."""
    signed = np.where(np.asarray(labels, dtype=bool), logits, -logits)  # log-odds of each given state
    doubted = signed.argmin(axis=1)
    margin = signed[np.arange(len(signed)), doubted]
    return {"p_given": _sigmoid(margin), "margin": margin, "correct": margin > 0, "label": doubted}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)


@functools.cache
def _multilabel_recorder():
    from ..backends.dynamics import DynamicsRecorder

    class MultiLabelDynamicsRecorder(DynamicsRecorder):
        """Records `label_agreement` per training row and checkpoint (auditor.multilabel.dynamics scores it)."""

        columns = DYNAMICS_COLUMNS
        _measure = staticmethod(label_agreement)

    return MultiLabelDynamicsRecorder


class MultiLabelFinetune(FinetuneBackend):
    compute_metrics = staticmethod(multilabel_metrics)

    def fit_predict(self, train_idx, labels, test_idx):
        return super().fit_predict(train_idx, np.asarray(labels), test_idx)

    def _label_values(self, labels) -> list:
        return np.asarray(labels, dtype=np.float32).tolist()  # BCE needs float targets

    def _classifier(self):
        return load_classifier(self.cfg.model, self.n_classes, self.class_names,
                               problem_type="multi_label_classification")

    _recorder_class = staticmethod(_multilabel_recorder)

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        return _sigmoid(logits)
