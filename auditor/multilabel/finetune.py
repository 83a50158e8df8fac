"""`finetune` for label sets: the k-fold `FinetuneBackend` with a multi-label head
(problem_type="multi_label_classification": the model trains on BCE-with-logits, one sigmoid per label)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..backends.finetune import FinetuneBackend, load_classifier

__all__ = ["MultiLabelFinetune"]


def multilabel_metrics(eval_pred) -> dict:
    """Micro F1 at 0.5, the usual multi-label figure (the Trainer logs it per fold)."""
    from sklearn.metrics import f1_score

    logits, labels = eval_pred
    return {"f1_micro": f1_score(np.asarray(labels) > 0.5, np.asarray(logits) > 0, average="micro", zero_division=0)}


class MultiLabelFinetune(FinetuneBackend):
    compute_metrics = staticmethod(multilabel_metrics)

    def __init__(self, n_classes, seed, cfg, progress=None, class_names=None):
        # Training dynamics are recorded per class index; they do not apply to label sets yet.
        super().__init__(n_classes, seed, dataclasses.replace(cfg, dynamics_per_epoch=0), progress, class_names)

    def fit_predict(self, train_idx, labels, test_idx):
        return super().fit_predict(train_idx, np.asarray(labels), test_idx)

    def _label_values(self, labels) -> list:
        return np.asarray(labels, dtype=np.float32).tolist()  # BCE needs float targets

    def _classifier(self):
        return load_classifier(self.cfg.model, self.n_classes, self.class_names,
                               problem_type="multi_label_classification")

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-logits))
