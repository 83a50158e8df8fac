"""`auditor bench`: the detection benchmark on planted noise."""

from __future__ import annotations

import argparse

from .options import float_type, int_type, command_line

__all__ = ["add_bench"]


def add_bench(p: argparse.ArgumentParser) -> None:
    from ..benchmark import NOISE_SETTINGS

    p.add_argument("--data", help="a dataset as for 'run' (default: examples/emotion_train.txt); its labels are "
                   "taken as clean")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--limit", type=int_type("limit"), help="a class-stratified subset of this many rows")
    p.add_argument("--noise", nargs="+", default=["uniform10", "classcond10"],
                   help=f"noise settings from {', '.join(NOISE_SETTINGS)} (default: uniform10 classcond10)")
    p.add_argument("--seeds", nargs="+", type=int_type("seeds"), default=[0])
    p.add_argument("--methods", nargs="+", help="groups (auto, backend, ensemble, signal, baseline, candidate, "
                   "finetune, all) or method names (default: all but candidate; finetune only on a GPU)")
    p.add_argument("--folds", type=int_type("folds"), default=5)
    p.add_argument("--epochs", type=float_type("epochs"), help="for finetune (default: as for 'run')")
    p.add_argument("--max-length", type=int_type("max-length"), default=None,
                   help="for finetune (default: the data's 95th percentile of tokens, up to the model's limit)")
    p.add_argument("--truncation", help="for finetune: head or head+tail (default: as for 'run'; the cache does not "
                   "tell settings apart: use --no-cache or another --cache-dir)")
    p.add_argument("--cache-dir", default="reports/.bench-cache",
                   help="probabilities cached per (data, noise, seed, source); clear it after changing a backend")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--out", help="results folder (default: reports/bench-<timestamp>)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_bench)


def _cmd_bench(args) -> int:
    from ..benchmark import bench

    print(bench(data=args.data, text_column=args.text_column, label_column=args.label_column, limit=args.limit,
                noise=args.noise, seeds=args.seeds, methods=args.methods, folds=args.folds, epochs=args.epochs,
                max_length=args.max_length, truncation=args.truncation, cache_dir=None if args.no_cache else args.cache_dir, out=args.out,
                quiet=args.quiet, command=command_line()), end="")
    return 0


