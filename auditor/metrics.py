"""Dataset-level figures from out-of-sample probabilities: accuracy, weighted F1, per class, confusion,
and cleanlab's estimate of the label noise between classes."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

__all__ = ["classification_metrics", "noise_estimate"]

_TOP_CONFUSIONS = 10


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


def noise_estimate(labels, pred_probs, class_names) -> dict:
    """cleanlab's estimate of the joint P(given label, true label) and the largest off-diagonal cells.

    Returns {"joint", "top", "noise_rate", "estimated_true"}, or {"error": words} where cleanlab cannot
    estimate it; plain lists and floats, so it goes into metrics.json as it is.
    """
    from cleanlab.count import estimate_joint

    from .errors import first_line

    names = [str(c) for c in class_names]
    labels, probs = np.asarray(labels), np.asarray(pred_probs)
    try:
        joint = estimate_joint(labels, probs)
    except Exception as exc:  # cleanlab refuses some degenerate inputs (e.g. a class never predicted)
        return {"error": f"{type(exc).__name__}: {first_line(exc)}"}
    if not np.isfinite(joint).all():
        return {"error": "the estimate is not finite for these probabilities"}
    n = len(labels)
    given_totals = joint.sum(axis=1)
    pairs = []
    for i, j in zip(*np.nonzero(~np.eye(len(names), dtype=bool))):
        count = joint[i, j] * n
        if count >= 0.5:
            pairs.append({"given": names[i], "true": names[j], "count": int(round(count)),
                          "share": float(joint[i, j] / given_totals[i]) if given_totals[i] else 0.0})
    pairs.sort(key=lambda p: -p["count"])
    off_diagonal = float(joint.sum() - np.trace(joint))
    return {"joint": joint.tolist(), "top": pairs[:_TOP_CONFUSIONS], "noise_rate": off_diagonal,
            "estimated_true": {name: float(joint[:, j].sum() * n) for j, name in enumerate(names)}}
