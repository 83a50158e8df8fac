"""Scoring and writing a run at scale: 1,000,000 examples x 20 classes of synthetic probabilities.

    python benchmarks/scale.py                          # 100,000-row baseline, then 1,000,000 rows
    python benchmarks/scale.py --compare                # also: old vs new CSV writer and reasons, same data
    python benchmarks/scale.py --label-issues-only batched|unbatched   # cleanlab's search alone

Runs what follows the backend in a real run: `build_scores` (every default scorer, combine, rank,
reasons), the metrics, and `AuditResult.save` (scores.csv, scores.parquet, suspects.csv, metrics.json,
run.json and report.html). Measures wall time per stage and the process's peak resident memory
(`ru_maxrss`, which also counts memory a stage freed again). A smaller run is measured first in the
same process as the baseline, because the machine is shared and absolute times drift.
Target (issue 7): peak memory under 4 GB for 1,000,000 x 20.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.config import DataConfig, RunConfig  # noqa: E402
from auditor.data import AuditData  # noqa: E402
from auditor.metrics import classification_metrics  # noqa: E402
from auditor.pipeline import _run_info, build_scores  # noqa: E402
from auditor.result import AuditResult  # noqa: E402
from auditor.runfiles import write_csv  # noqa: E402
from auditor.scoring.combine import reasons  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def current_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def synthetic(n: int, k: int, noise: float, seed: int = 0):
    """Labels, probabilities peaked on a true class, `noise` of the labels flipped, short texts of which
    2% repeat another row's text (so the duplicate scorer has groups to find)."""
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
    source = np.arange(n)
    repeat = rng.random(n) < 0.02
    source[repeat] = rng.integers(0, n, int(repeat.sum()))
    texts = tuple(f"example {i} {words[i % 8]} {words[(i // 8) % 8]}" for i in source)
    names = tuple(f"class_{c:02d}" for c in range(k))
    data = AuditData(ids=np.arange(n), texts=texts, labels=labels, class_names=names, source="synthetic",
                     format="frame", text_column="text", label_column="label")
    return data, probs, flip


def _import_scoring() -> None:
    import cleanlab.experimental.label_issues_batched  # noqa: F401
    import cleanlab.filter  # noqa: F401
    import cleanlab.rank  # noqa: F401
    import pyarrow.csv  # noqa: F401


class _Stages:
    """Wall and CPU seconds (this process, all its threads) per stage: on a shared machine the CPU time
    says what the work costs, the wall time what a user waited."""

    def __init__(self, label: str):
        self.label, self.seconds, self.cpu_seconds, self.peaks = label, {}, {}, {}

    def __call__(self, name, func, *args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        value = func(*args, **kwargs)
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.cpu_seconds[name] = round(time.process_time() - cpu, 2)
        self.peaks[name] = round(peak_mb())
        print(f"{self.label:>9} {name:>10}: {self.seconds[name]:8.2f} s (CPU {self.cpu_seconds[name]:8.2f} s)"
              f"   peak RSS {self.peaks[name]:6.0f} MB   now {current_mb():6.0f} MB   load {os.getloadavg()[0]:.1f}",
              flush=True)
        return value


def measure(rows: int, classes: int, noise: float, out: str | None = None) -> dict:
    """One full scoring + writing pass; returns seconds and peak memory per stage."""
    stage = _Stages(f"{rows:,}")
    data, probs, flip = stage("synthesise", synthetic, rows, classes, noise)
    scores = stage("score", build_scores, data, probs, "self_confidence", np.zeros(rows, dtype=np.int64))
    metrics = stage("metrics", classification_metrics, data.labels, probs, data.class_names,
                    scores["is_label_issue"].to_numpy())
    metrics.update(method="synthetic", model=None, folds=None, seed=0, backend_details={},
                   signals=["loss", "label_quality", "duplicates"], truncated_texts=0, max_text_chars=0)
    config = RunConfig(data=DataConfig(source="synthetic"), method="tfidf", quiet=True)
    result = AuditResult(scores, metrics, _run_info(config, data, ("synthetic",)), data.class_names)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out) if out else Path(tmp) / "run"
        stage("write", result.save, folder, overwrite=True)
        sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in folder.iterdir()}
    flagged = scores["is_label_issue"].to_numpy()
    return {"rows": rows, "classes": classes, "seconds": stage.seconds, "cpu_seconds": stage.cpu_seconds,
            "peak_rss_mb_after": stage.peaks,
            "flagged": int(flagged.sum()), "flagged_that_were_flipped": round(float(flip[flagged].mean()), 3),
            "files_mb": sizes}


def _reasons_per_row(table, labels, pred_probs, class_names) -> list[str]:
    """The per-row loop `combine.reasons` replaced (same output), kept to measure the difference."""
    suggested = pred_probs.argmax(axis=1)
    flag = table["is_label_quality_issue"].to_numpy(dtype=bool)
    texts = []
    for i in range(len(labels)):
        parts = []
        if suggested[i] != labels[i]:
            parts.append(f"model gives {class_names[suggested[i]]} {pred_probs[i, suggested[i]]:.2f}, "
                         f"labelled {class_names[labels[i]]} ({pred_probs[i, labels[i]]:.2f})")
        elif flag[i]:
            parts.append(f"low confidence in {class_names[labels[i]]} ({pred_probs[i, labels[i]]:.2f})")
        extra = table["duplicate_reason"].iat[i] if "duplicate_reason" in table else ""
        if isinstance(extra, str) and extra:
            parts.append(extra)
        texts.append("; ".join(parts))
    return texts


def compare(rows: int, classes: int, noise: float) -> dict:
    """Before and after, on the same table in the same process: CSV writer and reasons."""
    data, probs, _ = synthetic(rows, classes, noise)
    scores = build_scores(data, probs, "self_confidence", np.zeros(rows, dtype=np.int64))
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, func in [("csv: pandas to_csv", lambda: scores.to_csv(Path(tmp) / "a.csv", index=False)),
                           ("csv: write_csv (pyarrow)", lambda: write_csv(scores, Path(tmp) / "b.csv"))]:
            start = time.perf_counter()
            func()
            timings[name] = round(time.perf_counter() - start, 2)
        same = pd.read_csv(Path(tmp) / "a.csv").equals(pd.read_csv(Path(tmp) / "b.csv"))
    for name, func in [("reasons: per-row loop", _reasons_per_row), ("reasons: vectorised", reasons)]:
        start = time.perf_counter()
        words = func(scores, data.labels, probs, data.class_names)
        timings[name] = round(time.perf_counter() - start, 2)
    assert words == _reasons_per_row(scores, data.labels, probs, data.class_names)
    print(json.dumps({"rows": rows, "seconds": timings, "csv_files_read_back_equal": same}, indent=2))
    return timings


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
        "peak_rss_mb": round(peak_mb()),
        "flagged": int(flagged.sum()), "flagged_that_were_flipped": round(float(flip[flagged].mean()), 3),
        "flipped_found": round(float(flagged[flip].mean()), 3),
    }
    print(json.dumps(summary))
    return summary


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000, help="measured first (0: none)")
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--out", help="run folder to write for --rows (default: a temporary folder, removed)")
    parser.add_argument("--compare", action="store_true", help="old vs new CSV writer and reasons, same table")
    parser.add_argument("--compare-rows", type=int, default=200_000)
    parser.add_argument("--label-issues-only", choices=["batched", "unbatched"],
                        help="measure only cleanlab's label-issue search, batched or in one piece")
    args = parser.parse_args(argv)
    if args.label_issues_only:
        return label_issues_only(args)
    start_mb = round(peak_mb())
    _Stages("all")("imports", _import_scoring)  # once per run whatever its size (cleanlab takes seconds)
    runs = [measure(args.baseline_rows, args.classes, args.noise)] if args.baseline_rows else []
    runs.append(measure(args.rows, args.classes, args.noise, args.out))
    summary = {"start_rss_mb": start_mb, "peak_rss_mb": round(peak_mb()), "runs": runs}
    if len(runs) == 2:
        base, big = runs
        summary["time_ratio_to_baseline"] = {
            k: round(big["seconds"][k] / max(base["seconds"][k], 1e-3), 1) for k in big["seconds"]
        }
        summary["cpu_time_ratio_to_baseline"] = {
            k: round(big["cpu_seconds"][k] / max(base["cpu_seconds"][k], 1e-3), 1) for k in big["cpu_seconds"]
        }
    summary["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(summary, indent=2))
    if args.compare:
        summary["compare"] = compare(args.compare_rows, args.classes, args.noise)
    return summary


if __name__ == "__main__":
    main()
