"""Dataset-level figures of a multi-label audit: per-label precision/recall/F1 and support, a 2×2
confusion per label, and the label co-occurrence counts (in place of the single-label confusion matrix).

A label counts as predicted where its out-of-sample probability reaches the label's threshold (the mean
probability where it is labelled, `scoring.label_thresholds`): a one-vs-rest model rarely gives a rare
label 0.5, so a fixed 0.5 would report near-zero recall for most GoEmotions labels.
"""

from __future__ import annotations

import numpy as np

from .scoring import label_thresholds

__all__ = ["multilabel_metrics"]


def multilabel_metrics(labels, pred_probs, class_names, is_issue=None) -> dict:
    labels = np.asarray(labels, dtype=np.int8)
    predicted = (pred_probs >= label_thresholds(labels, pred_probs)[None, :]).astype(np.int8)
    tp = (labels & predicted).sum(axis=0).astype(np.int64)
    fp = ((1 - labels) & predicted).sum(axis=0).astype(np.int64)
    fn = (labels & (1 - predicted)).sum(axis=0).astype(np.int64)
    tn = len(labels) - tp - fp - fn
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / (tp + fp))
        recall = np.nan_to_num(tp / (tp + fn))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    support = labels.sum(axis=0).astype(np.int64)
    flagged = np.asarray(is_issue, dtype=bool) if is_issue is not None else None
    per_class = {
        name: {"precision": float(precision[j]), "recall": float(recall[j]), "f1": float(f1[j]),
               "support": int(support[j]),
               "label_issues": int(labels[flagged, j].sum()) if flagged is not None else None}
        for j, name in enumerate(class_names)
    }
    micro_p = tp.sum() / max(1, tp.sum() + fp.sum())
    micro_r = tp.sum() / max(1, tp.sum() + fn.sum())
    out = {
        "task": "multi-label",
        "n": int(len(labels)),
        "classes": list(class_names),
        "accuracy": float((labels == predicted).all(axis=1).mean()),  # exact set match
        "f1_weighted": float((f1 * support).sum() / max(1, support.sum())),
        "f1_micro": float(2 * micro_p * micro_r / (micro_p + micro_r)) if micro_p + micro_r else 0.0,
        "f1_macro": float(f1.mean()),
        "labels_per_row": float(labels.sum(axis=1).mean()),
        "per_class": per_class,
        "confusion_2x2": {name: [[int(tn[j]), int(fp[j])], [int(fn[j]), int(tp[j])]]
                          for j, name in enumerate(class_names)},
        "cooccurrence": (labels.T.astype(np.int64) @ labels.astype(np.int64)).tolist(),
        "thresholds": [round(float(x), 6) for x in label_thresholds(labels, pred_probs)],
    }
    if flagged is not None:
        out["label_issues"] = int(flagged.sum())
        out["label_issue_share"] = float(flagged.mean())
    return out
