"""apply's cleaned CSV at scale: the byte-keeping rewrite against the value-for-value writer it replaced.

Builds a CSV of ROWS rows from the shipped emotion split (repeated; pandas' minimal quoting, no id column),
makes 2,000 corrections (1,500 relabels, 500 deletes) and times, in one process on the same loaded data:
- before: `write_csv(_edit_frame(...))`, the value-for-value writer (pyarrow; every string re-quoted);
- after: the CSV format's `rewrite`, which copies the rows' own bytes, adds the ids and reads the copy
  back to check it;
and the whole `cleaned_copy` (the changes table, label look-ups, the rewrite). Peak memory is the
process's `ru_maxrss` after all three.

    python benchmarks/apply_csv.py --rows 200000
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.annotate.apply import cleaned_copy  # noqa: E402
from auditor.config import DataConfig  # noqa: E402
from auditor.data import load_data  # noqa: E402
from auditor.input_formats import INPUT_FORMATS, Edit, _edit_frame  # noqa: E402
from auditor.safeio import write_csv  # noqa: E402


def measure(rows: int) -> dict:
    lines = (ROOT / "examples" / "emotion_train.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.rsplit(";", 1) for line in lines]
    frame = pd.DataFrame((pairs * (rows // len(pairs) + 1))[:rows], columns=["text", "label"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        frame.to_csv(path, index=False)
        start = time.perf_counter()
        data = load_data(DataConfig(source=str(path)))
        load = time.perf_counter() - start
        rng = np.random.default_rng(0)
        picked = rng.choice(len(data), 2000, replace=False)
        relabel = {int(p): "joy" for p in picked[:1500]}
        deleted = [int(p) for p in picked[1500:]]

        start = time.perf_counter()
        edit = Edit({p: {data.label_column: v} for p, v in relabel.items()}, set(deleted), "id", data.ids)
        write_csv(_edit_frame(data.frame, edit), io.BytesIO(), neutralise=False)
        before = time.perf_counter() - start

        start = time.perf_counter()
        INPUT_FORMATS["csv"].rewrite(data, edit)(io.BytesIO())
        after = time.perf_counter() - start

        start = time.perf_counter()
        cleaned = cleaned_copy(data, relabel, deleted, add_id="id")
        whole = time.perf_counter() - start
    return {"rows": rows, "load_s": round(load, 2), "before_s": round(before, 2), "after_s": round(after, 2),
            "ratio": round(after / before, 1), "cleaned_copy_s": round(whole, 2),
            "cleaned_mb": round(len(cleaned) / 2**20, 1),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    result = measure(parser.parse_args(argv).rows)
    print(result)
    return result


if __name__ == "__main__":
    main()
