"""Training dynamics of label sets: dataset cartography on the most doubted label.

Input: `auditor.multilabel.finetune.label_agreement` records, one per (training row, checkpoint): the
probability the model gives the GIVEN state of the row's most doubted label (p where labelled, 1 − p
where not), its log-odds, whether the whole set is predicted at 0.5, and which label that was. A row is
as trustworthy as its least trusted label, so `confidence_score` is the mean over checkpoints of that
lowest agreement, `variability_score` its std within each training run (averaged over the k − 1 runs
that trained on the row, as for single-label), `aum_score` the mean log-odds, `correctness_score` the
share of checkpoints whose predicted set was the given one. Regions and thresholds are single-label's
(`auditor.scoring.dynamics`). `dynamics_label` names the label doubted at most checkpoints, in
`suspect_label`'s notation ('+name' not labelled but expected, '-name' labelled but doubted); hard-to-learn
rows say it in `dynamics_reason`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scoring.dynamics import aggregate_dynamics, cartography_regions

__all__ = ["DYNAMICS_SCORE_COLUMNS", "score_multilabel_dynamics"]

DYNAMICS_SCORE_COLUMNS = ("confidence_score", "variability_score", "correctness_score", "aum_score",
                          "cartography_region", "is_hard_to_learn_issue", "dynamics_label", "dynamics_reason")


def score_multilabel_dynamics(records: pd.DataFrame, labels: np.ndarray, class_names) -> pd.DataFrame:
    """`DYNAMICS_SCORE_COLUMNS` per row of `labels` (NaN / '' for a row never trained on)."""
    labels = np.asarray(labels, dtype=np.int8)
    records = pd.DataFrame(records)
    agg = aggregate_dynamics(records, len(labels))
    confidence, variability = agg["confidence"].to_numpy(), agg["variability"].to_numpy()
    region = cartography_regions(agg)
    doubted, times = _most_doubted(records, len(labels))
    names = list(class_names)
    label = np.array([("-" if labels[i, j] else "+") + names[j] if j >= 0 else "" for i, j in enumerate(doubted)],
                     dtype=object)
    hard = region == "hard-to-learn"
    reason = np.full(len(labels), "", dtype=object)
    for i in np.flatnonzero(hard):
        j, runs = doubted[i], int(agg["runs"].iat[i])
        state = f"labelled {names[j]}, which the model doubts" if labels[i, j] else \
            f"{names[j]} not labelled, which the model expects"
        reason[i] = (f"hard to learn: {state} (the most doubted label at {times[i]} of "
                     f"{int(agg['checkpoints'].iat[i])} checkpoints over {runs} training run{'s' * (runs != 1)}; "
                     f"mean confidence {confidence[i]:.2f})")
    return pd.DataFrame({"confidence_score": confidence, "variability_score": variability,
                         "correctness_score": agg["correctness"].to_numpy(), "aum_score": agg["aum"].to_numpy(),
                         "cartography_region": region, "is_hard_to_learn_issue": hard, "dynamics_label": label,
                         "dynamics_reason": reason})


def _most_doubted(records: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the label most often doubted most (the lower index on a tie; -1 if never seen), and how often."""
    label, times = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    if len(records):
        counts = records.groupby(["row", "label"]).size().reset_index(name="times")
        counts = counts.sort_values(["row", "times", "label"], ascending=[True, False, True], kind="stable")
        first = counts.drop_duplicates("row")
        rows = first["row"].to_numpy(dtype=np.int64)
        label[rows], times[rows] = first["label"].to_numpy(dtype=np.int64), first["times"].to_numpy(dtype=np.int64)
    return label, times
