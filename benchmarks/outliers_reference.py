"""What the outlier signal's bounded reference set costs in ranking, against exact k-nearest neighbours.

    PYTHONPATH=. python benchmarks/outliers_reference.py --data examples/emotion_train.txt --reference 2000 5000
    PYTHONPATH=. python benchmarks/outliers_reference.py --data ... --reference 2000 --fit-rows 2000 5000

On the data's own features (TF-IDF reduced by LSA, as the audit computes them without embeddings) it
scores every row exactly and with each reference size, and prints the Spearman correlation of the
scores, the share of the exact top-1% (the rows flagged) that the sampled search flags too, and seconds.
With `--fit-rows`, the sampled search also runs on features whose vocabulary and LSA were fitted on
that many texts (what the audit does above `EXACT_MAX_ROWS` rows), still against exact search on
features fitted on all of them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.config import DataConfig  # noqa: E402
from auditor.data import load_data  # noqa: E402
from auditor.scoring.outliers import DEFAULT_K, _features, knn_distance  # noqa: E402


def main(argv=None):
    from scipy.stats import spearmanr

    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--reference", type=int, nargs="+", default=[2000, 5000, 10000])
    p.add_argument("--fit-rows", type=int, nargs="*", default=[], help="also: features fitted on this many texts")
    args = p.parse_args(argv)
    data = load_data(DataConfig(source=args.data))
    features = _features(data.texts, None, 0)
    n = len(features)
    start = time.perf_counter()
    exact = knn_distance(features, DEFAULT_K, reference=n)
    exact_s = time.perf_counter() - start
    top = max(1, n // 100)
    exact_top = set(np.argsort(-exact, kind="stable")[:top])
    print(f"{args.data}: {n} rows; exact kNN {exact_s:.1f} s")
    variants = [(None, features)] + [(rows, _features(data.texts, None, 0, fit_rows=rows)) for rows in args.fit_rows]
    for fit_rows, fitted in variants:
        for reference in args.reference:
            start = time.perf_counter()
            sampled = knn_distance(fitted, DEFAULT_K, reference=reference)
            seconds = time.perf_counter() - start
            overlap = len(exact_top & set(np.argsort(-sampled, kind="stable")[:top])) / top
            rho = spearmanr(exact, sampled).statistic
            print(f"features fitted on {fit_rows or n} texts, reference {reference}: Spearman {rho:.3f}, "
                  f"top-1% overlap {overlap:.2f}, {seconds:.1f} s ({seconds / exact_s:.2f}x exact)", flush=True)


if __name__ == "__main__":
    main()
