"""Calibration of the CPU default's members, and what a temperature per member would change (issue 13).

`python benchmarks/calibration.py --data ../shared/data/20news/train.csv.gz --noise uniform10 --seeds 0`
plants noise as `auditor bench` does, takes the out-of-fold probabilities of `tfidf` and `nb` from the bench's
cache (or computes them), and prints AP (self-confidence ranking of the planted flips), accuracy and ECE
against the clean labels for: each member, their average (the default), a temperature per member fitted on
the given labels before averaging, and one temperature on the average.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import average_precision_score

from auditor.benchmark import calibration_metrics, stratified_subset
from auditor.benchmark.runner import _data_tag, _plant, _Sources
from auditor.config import DataConfig, TrainConfig
from auditor.data import load_data


def temperature_scaled(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """probs ** (1/T), renormalised, with T minimising the log loss of the given labels."""
    logp = np.log(np.clip(probs, 1e-12, 1.0))

    def scaled(log_t):
        z = logp / np.exp(log_t)
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    best = minimize_scalar(lambda t: -scaled(t)[np.arange(len(labels)), labels].mean(), bounds=(-4, 4),
                           method="bounded").x
    return np.exp(scaled(best)), float(np.exp(best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--noise", nargs="+", default=["uniform10"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--cache-dir", default="reports/.bench-cache")
    args = parser.parse_args()
    cfg = DataConfig(**({"source": args.data} if args.data else {}))
    data = stratified_subset(load_data(cfg, min_per_class=5), args.limit)
    sources = _Sources(data.texts, len(data.class_names), _data_tag(data), 5, TrainConfig(), args.cache_dir, print)
    for setting in args.noise:
        for seed in args.seeds:
            noisy, flipped = _plant(data, setting, seed, sources)
            given = noisy.labels
            tfidf, nb = (sources.probs(name, given, setting, seed) for name in ("tfidf", "nb"))
            variants = {"tfidf": tfidf, "nb": nb, "average (default)": (tfidf + nb) / 2,
                        "T per member, then average": (temperature_scaled(tfidf, given)[0]
                                                       + temperature_scaled(nb, given)[0]) / 2,
                        "average, then one T": temperature_scaled((tfidf + nb) / 2, given)[0]}
            for name, probs in variants.items():
                ap = average_precision_score(flipped, 1 - probs[np.arange(len(given)), given])
                cal = calibration_metrics(data.labels, probs)
                print(f"{setting} seed {seed} | {name} | AP {ap:.4f} | acc. {cal['accuracy']:.3f} | "
                      f"ECE {cal['ece']:.3f}", flush=True)


if __name__ == "__main__":
    main()
