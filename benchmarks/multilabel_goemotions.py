"""Planted multi-label noise on GoEmotions: the default audit against the practitioner's baseline.

    python benchmarks/multilabel_goemotions.py [--limit N] [--seed S] [--share 0.1] [--folds 5]

Prints one markdown table (AP, recall@k, "which label" right among planted rows found in the top k,
seconds) and writes the figures as JSON to --json. See auditor/multilabel/bench.py for the noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.config import DataConfig, RunConfig  # noqa: E402
from auditor.multilabel import bench  # noqa: E402
from auditor.multilabel.data import load_multilabel, multilabel_from_frame  # noqa: E402
from auditor.multilabel.pipeline import audit_multilabel  # noqa: E402


def goemotions_dir() -> Path:
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        if (base / "data" / "goemotions" / "train.tsv").is_file():
            return base / "data" / "goemotions"
    raise SystemExit("GoEmotions not found under ../shared/data/goemotions or /work/shared/data/goemotions")


def run(limit=None, seed=0, share=0.1, folds=5, method="auto", baseline=True) -> dict:
    folder = goemotions_dir()
    clean = load_multilabel(DataConfig(source=str(folder / "train.tsv"), column_names="text,labels,id",
                                       label_names=str(folder / "emotions.txt")))
    rows = np.arange(len(clean)) if limit is None else np.sort(
        np.random.default_rng(seed).choice(len(clean), limit, replace=False))
    texts = [clean.texts[i] for i in rows]
    noisy, changed, answers = bench.plant_multilabel_noise(clean.labels[rows], share, seed)
    names = list(clean.class_names)
    frame = bench.noisy_frame(texts, noisy, names)
    cfg = DataConfig(source="<goemotions-noisy>", label_separator=",")
    data = multilabel_from_frame(frame, cfg, class_names=names)
    config = RunConfig(data=cfg, method=method, folds=folds, seed=seed, task="multi-label", quiet=True)
    started = time.perf_counter()
    result = audit_multilabel(data, config)
    ours_s = time.perf_counter() - started
    index = {n: j for j, n in enumerate(names)}
    guesses = [g[0] + str(index[g[1:]]) if g else "" for g in result.scores["suspect_label"]]
    probs = result.pred_probs
    out = {"rows": len(rows), "planted": len(changed), "seed": seed, "share": share, "folds": folds,
           "ours": dict(bench.evaluate(result.scores["label_issue_score"].to_numpy(), guesses, changed, answers),
                        seconds=round(ours_s, 1), method=result.metrics["method"])}
    out["ours, cleanlab flagged-first order"] = dict(
        bench.evaluate(bench.baseline_ranking(noisy, probs), guesses, changed, answers))
    if baseline:
        started = time.perf_counter()
        base_probs = bench.baseline_probs(texts, noisy, result.scores["fold"].to_numpy())
        base_score = bench.baseline_ranking(noisy, base_probs)
        base_s = time.perf_counter() - started
        out["baseline"] = dict(bench.evaluate(base_score, bench.naive_guess(noisy, base_probs), changed, answers),
                               seconds=round(base_s, 1))
    return out


def table(results: dict) -> str:
    lines = ["| ranking | AP | recall@k | which label right (top k) | seconds |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        if isinstance(r, dict) and "ap" in r:
            lines.append(f"| {name} | {r['ap']:.3f} | {r['recall_at_k']:.3f} | {r['which_label_right']:.3f} "
                         f"({r['found_in_top_k']}) | {r.get('seconds', '')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--method", default="auto")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    results = run(args.limit, args.seed, args.share, args.folds, args.method, not args.no_baseline)
    print(f"{results['rows']:,} rows, {results['planted']:,} planted changes, seed {args.seed}, {args.folds}-fold")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
