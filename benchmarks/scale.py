"""Scoring and writing a run at scale: 1,000,000 examples x 20 classes of synthetic probabilities.

Measures wall time per stage and the peak resident memory of the process (ru_maxrss, which also counts
memory a stage frees again). Run alone:  python benchmarks/scale.py [--rows 1000000] [--classes 20]
Target (issue 7): peak memory under 4 GB for 1,000,000 x 20.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.config import DataConfig, RunConfig  # noqa: E402
from auditor.data import AuditData  # noqa: E402
from auditor.metrics import classification_metrics  # noqa: E402
from auditor.pipeline import _run_info, build_scores  # noqa: E402
from auditor.result import AuditResult  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def current_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def synthetic(n: int, k: int, noise: float, seed: int = 0):
    """Labels, probabilities peaked on a true class, `noise` of the labels flipped, short texts."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = rng.normal(0.0, 1.0, (n, k))
    logits[np.arange(n), true] += rng.uniform(0.5, 4.0, n)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < noise
    labels[flip] = (true[flip] + rng.integers(1, k, int(flip.sum()))) % k
    words = np.array(["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"])
    texts = tuple(f"example {i} {words[i % 8]} {words[(i // 8) % 8]}" for i in range(n))
    names = tuple(f"class_{c:02d}" for c in range(k))
    data = AuditData(ids=np.arange(n), texts=texts, labels=labels, class_names=names, source="synthetic",
                     format="frame", text_column="text", label_column="label")
    return data, probs, flip


def _import_scoring() -> None:
    import cleanlab.experimental.label_issues_batched  # noqa: F401
    import cleanlab.filter  # noqa: F401
    import cleanlab.rank  # noqa: F401
    import pyarrow.csv  # noqa: F401


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--out", help="run folder to write (default: a temporary folder, removed after)")
    parser.add_argument("--label-issues-only", choices=["batched", "unbatched"],
                        help="measure only cleanlab's label-issue search, batched or in one piece")
    args = parser.parse_args(argv)
    if args.label_issues_only:
        return label_issues_only(args)

    stages, peaks = {}, {}

    def stage(name, func, *a, **kw):
        start = time.perf_counter()
        value = func(*a, **kw)
        stages[name] = round(time.perf_counter() - start, 2)
        peaks[name] = round(peak_mb())
        print(f"{name:>10}: {stages[name]:8.2f} s   peak RSS {peaks[name]:7.0f} MB   now {current_mb():7.0f} MB",
              flush=True)
        return value

    baseline = peak_mb()
    stage("imports", _import_scoring)  # once per run whatever its size (cleanlab alone takes seconds)
    data, probs, flip = stage("synthesise", synthetic, args.rows, args.classes, args.noise)
    scores = stage("score", build_scores, data, probs, "self_confidence", np.zeros(args.rows, dtype=np.int64))
    metrics = stage("metrics", classification_metrics, data.labels, probs, data.class_names,
                    scores["is_label_issue"].to_numpy())
    metrics.update(method="synthetic", model=None, folds=None, seed=0, backend_details={},
                   truncated_texts=0, max_text_chars=0)
    config = RunConfig(data=DataConfig(source="synthetic"), method="tfidf", quiet=True)
    result = AuditResult(scores, metrics, _run_info(config, data, ("synthetic",)), data.class_names)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "run"
        stage("write", result.save, out, overwrite=True)
        sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in out.iterdir()}
    flagged = scores["is_label_issue"].to_numpy()
    summary = {
        "rows": args.rows, "classes": args.classes, "seconds": stages, "peak_rss_mb_after": peaks,
        "peak_rss_mb": round(peak_mb()), "start_rss_mb": round(baseline),
        "flagged": int(flagged.sum()), "flagged_that_were_flipped": round(float(flip[flagged].mean()), 3),
        "files_mb": sizes,
    }
    print(json.dumps(summary, indent=2))
    return summary


def label_issues_only(args) -> dict:
    """Peak memory of the label-issue search alone (run each variant in its own process)."""
    from auditor.scoring import label_quality

    data, probs, flip = synthetic(args.rows, args.classes, args.noise)
    before = peak_mb()
    if args.label_issues_only == "unbatched":
        label_quality.BATCHED_ABOVE = args.rows + 1
    start = time.perf_counter()
    flagged = label_quality.find_issues(data.labels, probs)
    summary = {
        "rows": args.rows, "classes": args.classes, "variant": args.label_issues_only,
        "seconds": round(time.perf_counter() - start, 2), "peak_rss_mb_before": round(before),
        "peak_rss_mb": round(peak_mb()), "children_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "flagged": int(flagged.sum()), "flagged_that_were_flipped": round(float(flip[flagged].mean()), 3),
        "flipped_found": round(float(flagged[flip].mean()), 3),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
