"""The default CPU audit end to end on long documents at scale: 10,000 then 100,000 posts of ~2,000 characters.

    PYTHONPATH=. python benchmarks/scale_docs.py                       # 10,000 and 100,000 rows
    PYTHONPATH=. python benchmarks/scale_docs.py --rows 10000 30000    # other sizes

Writes synthetic posts (20 topics, each with its own Zipf-distributed word list over a shared
vocabulary of 30,000 words, ~330 words per post, 5% of the labels flipped) to a .csv.gz, runs
`python -m auditor run` with its defaults in a fresh process per size and prints wall time and peak RSS
(the child's own peak, Linux VmHWM), and the ratio to the smallest size. Target (issue 13): peak RSS <= 4 GB at
100,000 rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.benchmark.runner import measured_process  # noqa: E402

RUN = "import runpy, sys\nsys.argv = ['auditor', *sys.argv[1:]]\nrunpy.run_module('auditor', run_name='__main__')"


def synthetic_posts(rows: int, classes: int = 20, words: int = 330, vocab: int = 30_000, seed: int = 0):
    """Posts whose words come half from a topic's favourite words and half from common words."""
    rng = np.random.default_rng(seed)
    lexicon = np.array([f"w{i}" for i in range(vocab)], dtype=object)
    zipf = 1.0 / np.arange(1, vocab + 1)
    common = zipf / zipf.sum()
    topics = [rng.permutation(vocab) for _ in range(classes)]
    labels = rng.integers(0, classes, rows)
    texts = []
    for label in labels:
        shared = rng.choice(vocab, words // 2, p=common)
        topical = topics[label][rng.zipf(1.3, words - words // 2) % vocab]
        texts.append(" ".join(lexicon[np.concatenate([shared, topical])]))
    flip = rng.random(rows) < 0.05
    labels[flip] = (labels[flip] + rng.integers(1, classes, int(flip.sum()))) % classes
    return pd.DataFrame({"text": texts, "label": [f"topic{c:02d}" for c in labels]})


def measure(rows: int, workdir: Path) -> dict:
    data = workdir / f"posts{rows}.csv.gz"
    frame = synthetic_posts(rows)
    frame.to_csv(data, index=False)
    seconds, rss = measured_process(RUN, ["run", "--data", data, "--out", workdir / f"run{rows}", "--quiet"], workdir)
    run = json.loads((workdir / f"run{rows}" / "metrics.json").read_text())
    return {"rows": rows, "mean_chars": round(float(frame["text"].str.len().mean())), "seconds": round(seconds, 1),
            "peak_rss_mb": round(rss), "method": run.get("method"), "timings": run.get("timings")}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="auditor-scale-docs-") as tmp:
        for rows in args.rows:
            results.append(measure(rows, Path(tmp)))
            base = results[0]
            results[-1]["time_ratio_to_first"] = round(results[-1]["seconds"] / base["seconds"], 1)
            print(json.dumps(results[-1]), flush=True)
    return results


if __name__ == "__main__":
    main()
