"""`--method finetune` on long texts: head-only against head+tail truncation (issue 13).

Plants 10% uniform flips (the detection benchmark's `uniform10`, seed 0) into a class-stratified subset
of 20 Newsgroups, fine-tunes k-fold once per `--truncation` setting with the same data, folds, seed and
settings, and prints per setting: AP and recall in the top 5% of the audit's ranking against the planted
flips (as `auditor bench` computes them), out-of-sample accuracy against the given (noisy) and the clean
labels, the share of texts cut, and wall time. Example (BENCHMARKS.md):

    PYTHONPATH=. python benchmarks/truncation.py --limit 1200 --folds 3 --epochs 2 --max-length 256
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from auditor.benchmark.runner import METHODS, run_benchmark, stratified_subset
from auditor.benchmark.noise import flip_labels
from auditor.config import TRUNCATIONS, DataConfig, TrainConfig
from auditor.data import load_data

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "20news" / "train.csv.gz"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DEFAULT_DATA if DEFAULT_DATA.exists() else
                                              "/work/shared/data/20news/train.csv.gz"))
    parser.add_argument("--limit", type=int, default=1200)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--max-length", type=int, default=256)
    # 16, not the CPU default 32: 32 x 256-token batches of MiniLM need ~4 GB, more than a shared machine allows.
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--truncations", nargs="+", default=list(TRUNCATIONS))
    args = parser.parse_args()

    data = stratified_subset(load_data(DataConfig(source=args.data), min_per_class=args.folds), args.limit)
    noisy, flipped = flip_labels(data.labels, 0.10, 0, len(data.class_names), mode="uniform")  # = uniform10 seed 0
    finetune = [m for m in METHODS if m.name == "finetune"]
    print(f"{len(data):,} rows, {len(data.class_names)} classes, {int(flipped.sum())} flips, {args.folds} folds, "
          f"{args.epochs:g} epochs, batch {args.batch_size}, max_length {args.max_length}")
    print("| truncation | AP | R@5% | accuracy (given labels) | accuracy (clean labels) | texts cut | wall s |")
    print("|---|---|---|---|---|---|---|")
    for truncation in args.truncations:
        cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length,
                          truncation=truncation)
        with tempfile.TemporaryDirectory(prefix="trunc-bench-") as cache:
            started = time.perf_counter()
            result = run_benchmark(data, noise=("uniform10",), seeds=(0,), methods=finetune, folds=args.folds,
                                   train_cfg=cfg, cache_dir=cache)
            wall = time.perf_counter() - started
            probs = np.load(next(Path(cache).rglob("uniform10-s0-*-finetune.npz")))["probs"]
        row = result["rows"].iloc[0]
        predicted = probs.argmax(axis=1)
        print(f"| {truncation} | {row['average_precision']:.3f} | {row['recall_at_5pct']:.3f} | "
              f"{(predicted == noisy).mean():.3f} | {(predicted == data.labels).mean():.3f} | "
              f"{_cut_share(data.texts, cfg):.0%} | {wall:.0f} |", flush=True)


def _cut_share(texts, cfg) -> float:
    from auditor.backends.finetune import load_tokenizer

    tokenizer = load_tokenizer(cfg.model)
    lengths = np.array([len(ids) for ids in tokenizer(list(texts), verbose=False)["input_ids"]])
    return float((lengths > cfg.max_length).mean())


if __name__ == "__main__":
    main()
