"""The cleaned pass's own settings on 20 Newsgroups: its folds and its naive Bayes smoothing (issue 13).

    PYTHONPATH=. python benchmarks/cleaned_pass_settings.py --noise classcond10 uniform10 --seeds 0 1 2 \
        [--folds 5 10] [--nb-alphas 0.1 0.03 0.01 0.003] [--flag-nb-alphas 0.1]

Reproduces the default's two passes in process (the product's TF-IDF matrix and members: SGD alpha 3e-6
and complement naive Bayes, averaged), with the noise planted as `auditor bench` plants it: a first 5-fold
pass (naive Bayes smoothing from --flag-nb-alphas) whose averaged probabilities cleanlab flags, then a
cleaned pass for each number of --folds, each model trained without the flagged rows, ranked with each
cleaned-pass smoothing in --nb-alphas. Prints one line of AP per (noise, seed, first-pass smoothing).
With --flag-nb-alphas 0.1, --folds 5 and --nb-alphas 0.1 it gives the session-14 default's AP exactly.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cleaned_pass import _oof, tfidf_matrix  # noqa: E402  (benchmarks/cleaned_pass.py)
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402
from sklearn.naive_bayes import ComplementNB  # noqa: E402

from auditor.backends.tfidf import MANY_ROWS_SGD_ALPHA  # noqa: E402
from auditor.benchmark.runner import _data_tag, _plant, _Sources  # noqa: E402
from auditor.config import DataConfig, TrainConfig  # noqa: E402
from auditor.data import load_data  # noqa: E402
from auditor.scoring.label_quality import find_issues  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/20news/train.csv.gz")
    parser.add_argument("--noise", nargs="+", default=["classcond10", "uniform10"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--folds", nargs="+", type=int, default=[5, 10])
    parser.add_argument("--nb-alphas", nargs="+", type=float, default=[0.1, 0.03, 0.01, 0.003])
    parser.add_argument("--flag-nb-alphas", nargs="+", type=float, default=[0.1])
    parser.add_argument("--cache", default="reports/.bench-cache")
    args = parser.parse_args()
    data = load_data(DataConfig(source=args.data), min_per_class=5)
    k = len(data.class_names)
    sources = _Sources(data.texts, k, _data_tag(data), 5, TrainConfig(), args.cache, print)
    features = tfidf_matrix(data.texts, k)
    for noise in args.noise:
        for seed in args.seeds:
            noisy, flipped = _plant(data, noise, seed, sources)
            labels, everyone = noisy.labels, np.ones(len(noisy.labels), bool)

            def ap(probs):
                return average_precision_score(flipped, 1 - probs[np.arange(len(labels)), labels])

            def sgd(seed):
                return SGDClassifier(loss="log_loss", alpha=MANY_ROWS_SGD_ALPHA, max_iter=50, tol=1e-4,
                                     random_state=seed)

            started = time.time()
            first_sgd = _oof(features, sgd, labels, everyone, seed, 5, k)
            for flag_alpha in args.flag_nb_alphas:
                first = (first_sgd + _oof(features, lambda _: ComplementNB(alpha=flag_alpha), labels, everyone,
                                          seed, 5, k)) / 2
                flagged = find_issues(labels, first)
                line = {"first pass": ap(first)}
                for folds in args.folds:
                    cleaned_sgd = _oof(features, sgd, labels, ~flagged, seed, folds, k)
                    for alpha in args.nb_alphas:
                        nb = _oof(features, lambda _: ComplementNB(alpha=alpha), labels, ~flagged, seed, folds, k)
                        line[f"{folds} folds, CNB {alpha:g}"] = ap((cleaned_sgd + nb) / 2)
                print(f"{noise} seed {seed}, first-pass CNB {flag_alpha:g}, {flagged.sum()} flagged, "
                      f"{time.time() - started:.0f} s: " + " | ".join(f"{key} {v:.4f}" for key, v in line.items()),
                      flush=True)


if __name__ == "__main__":
    main()
