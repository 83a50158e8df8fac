"""Are two run folders' scores the same, bit for bit, in every column both have?

    python benchmarks/same_scores.py RUN_A RUN_B

Reads each folder's scores.parquet (the exact float64 values; scores.csv rounds nothing either, but
parquet keeps the dtypes) and compares every shared column: floats by their bits, everything else by value.
Used to show that a refactor left the default run's scores unchanged (BENCHMARKS.md, "Same scores").
Prints the shared columns, the columns only one side has and the columns that differ; exits 1 if any does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def differing_columns(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    if len(a) != len(b):
        return ["<row count>"]
    differ = []
    for column in (c for c in a.columns if c in b.columns):
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            same = x.dtype == y.dtype and np.array_equal(x.view(np.uint64), y.view(np.uint64))
        else:
            same = a[column].equals(b[column])
        if not same:
            differ.append(column)
    return differ


def main(argv=None) -> int:
    first, second = (Path(p) for p in (argv or sys.argv[1:]))
    a, b = (pd.read_parquet(folder / "scores.parquet") for folder in (first, second))
    shared = [c for c in a.columns if c in b.columns]
    differ = differing_columns(a, b)
    print(f"rows: {len(a)} / {len(b)}; {len(shared)} shared columns: {', '.join(shared)}")
    print(f"only in {first}: {[c for c in a.columns if c not in b.columns]}")
    print(f"only in {second}: {[c for c in b.columns if c not in a.columns]}")
    print("differing: " + (", ".join(differ) if differ else "none (bit-identical)"))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
