"""Average precision of each ranking signal and of the combination against planted label flips.

Plants `--noise` uniform flips (each flipped row gets another class, uniformly) into the shipped
emotion training split (or its first `--rows` rows), gets out-of-sample probabilities with
`--method` (k-fold), runs every signal and prints AP per signal, on all rows and with the rows that
were already conflicting duplicates before the flips left out (real label conflicts that planted-noise
ground truth counts as clean). Example:

    PYTHONPATH=. python benchmarks/signals_ap.py --method tfidf
    PYTHONPATH=. python benchmarks/signals_ap.py --method finetune --rows 1000 --epochs 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import average_precision_score

from auditor import backends
from auditor.benchmark.noise import flip_labels
from auditor.config import DataConfig, TrainConfig
from auditor.data import load_data
from auditor.scoring import SIGNALS, score_all
from auditor.scoring.combine import combine, combined_score, signal_scores

COMBINATIONS = [("label_quality", "conflicting_duplicate"), ("label_quality", "dynamics_confidence"),
                ("label_quality", "dynamics_confidence", "conflicting_duplicate")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", default="tfidf")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=float, default=3.0)
    args = parser.parse_args()

    data = load_data(DataConfig())
    n = args.rows or len(data)
    texts, clean, ids = list(data.texts[:n]), data.labels[:n], data.ids[:n]
    k = len(data.class_names)
    noisy, flipped = flip_labels(clean, args.noise, args.seed, k)
    methods = tuple(args.method.split("+"))
    train = TrainConfig(epochs=args.epochs, dynamics_per_epoch=1 if "finetune" in methods else 0)
    started = time.perf_counter()
    out = backends.out_of_sample(texts, noisy, k, methods, args.folds, args.seed, train)
    seconds = time.perf_counter() - started

    # Every registered signal; training dynamics only where the backend recorded them.
    signals = tuple(name for name in SIGNALS if name != "dynamics" or out.dynamics is not None)
    inputs = dict(texts=texts, ids=ids, class_names=data.class_names, embeddings=out.embeddings, seed=args.seed)
    table = combine(score_all(noisy, out.pred_probs, signals, dynamics=out.dynamics, **inputs),
                    noisy, out.pred_probs, data.class_names)
    before = score_all(clean, out.pred_probs, ("duplicates",), **inputs)["is_conflicting_duplicate_issue"].to_numpy()
    keep = ~before
    print(f"{args.method}: {n} rows, {flipped.sum()} flipped, {args.folds}-fold, seed {args.seed}, "
          f"probabilities in {seconds:.0f} s; {before.sum()} rows conflicted before flipping")
    alone = signal_scores(table)
    combos = {"+".join(parts): combined_score(table, parts) for parts in COMBINATIONS if set(parts) <= set(alone)}
    for name, score in [*alone.items(), *combos.items(),
                        ("label_issue_score (default)", table["label_issue_score"])]:
        score = np.asarray(score, dtype=float)
        score = np.where(np.isnan(score), np.nanmin(score) - 1, score)  # no value = least suspect
        print(f"{name:60s} AP {average_precision_score(flipped, score):.4f}   "
              f"without prior conflicts {average_precision_score(flipped[keep], score[keep]):.4f}")


if __name__ == "__main__":
    main()
