"""Dataset-level figures from out-of-sample probabilities: accuracy, weighted F1, per class, confusion."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

__all__ = ["classification_metrics"]


def classification_metrics(labels, pred_probs, class_names, is_issue=None) -> dict:
    labels = np.asarray(labels)
    preds = np.asarray(pred_probs).argmax(axis=1)
    k = len(class_names)
    classes = list(range(k))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, preds, labels=classes, zero_division=0
    )
    cm = confusion_matrix(labels, preds, labels=classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        cm_norm = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "label_issues": int(np.sum(is_issue[labels == i])) if is_issue is not None else None,
        }
        for i, name in enumerate(class_names)
    }
    out = {
        "n": int(len(labels)),
        "classes": list(class_names),
        "accuracy": float(accuracy_score(labels, preds)),
        "f1_weighted": float(f1_score(labels, preds, average="weighted", zero_division=0)),
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalized": np.round(cm_norm, 6).tolist(),
    }
    if is_issue is not None:
        out["label_issues"] = int(np.sum(is_issue))
        out["label_issue_share"] = float(np.mean(is_issue))
    return out
