"""How big and how fast is report.html for a large run? Synthetic scores, real rendering, real Chromium.

    python benchmarks/report_scale.py                       # 100,000 rows, 20 classes
    python benchmarks/report_scale.py --rows 20000 --no-append
    python benchmarks/report_scale.py --evidence-only      # neighbour evidence alone: 100,000 vs 10,000 rows
    python benchmarks/report_scale.py --evidence-only --rows 1000000
    python benchmarks/report_scale.py --evidence-only --real-texts   # 74,263 real texts (GoEmotions + emotion)

Builds a scores table for N synthetic examples (random texts, Dirichlet probabilities that mostly agree
with the given label, 10% flipped labels) with the real scoring code, renders the report, and opens it
in headless Chromium to time the `load` event. A 1,000-row report is measured alongside as the baseline,
because this machine is shared and absolute times drift. Appends a table row to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.config import DataConfig  # noqa: E402
from auditor.data import from_frame  # noqa: E402
from auditor.metrics import classification_metrics  # noqa: E402
from auditor.pipeline import build_scores  # noqa: E402
from auditor.report.html import DEFAULT_MAX_ROWS, render_report  # noqa: E402
from auditor.result import AuditResult  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from browser import chromium  # noqa: E402
from browser import missing as browser_missing  # noqa: E402
WORDS = ("feel happy sad angry love fear surprise today really the a my new this great about with very "
         "never always work home friend family movie music game city night morning tired excited").split()


def synthetic_result(rows: int, classes: int, seed: int = 0, words: int = 22) -> AuditResult:
    rng = np.random.default_rng(seed)
    names = [f"class_{i:02d}" for i in range(classes)]
    true = rng.integers(0, classes, rows)
    given = np.where(rng.random(rows) < 0.1, rng.integers(0, classes, rows), true)
    alpha = np.full((rows, classes), 0.3)
    alpha[np.arange(rows), true] = 6.0
    probs = rng.gamma(alpha)  # one Dirichlet draw per row, vectorised
    probs /= probs.sum(axis=1, keepdims=True)
    # Plus three words from a Zipf-distributed vocabulary, as real texts have: without rare words no text
    # is nearer to one than to another, and the report's neighbour evidence would be empty.
    texts = _texts(rng, rows, words)
    frame = pd.DataFrame({"text": texts, "label": [names[i] for i in given]})
    data = from_frame(frame, DataConfig(source="synthetic"), fmt="frame", class_names=None)
    probs = probs[:, [names.index(n) for n in data.class_names]]
    # The outlier scorer's exact kNN over every row takes minutes at 100,000 rows on 2 cores and is not
    # what this measures: its column is drawn at random instead, so its report section is still there.
    scores = build_scores(data, probs, signals=("loss", "label_quality", "duplicates"))
    scores["outlier_score"] = rng.random(rows)
    scores["is_outlier_issue"] = scores["outlier_score"] > 0.99
    metrics = classification_metrics(data.labels, probs, data.class_names, scores["is_label_issue"].to_numpy())
    metrics.update(method="synthetic", model=None, folds=5, seed=seed, timings={"total": 0.0})
    run = {"command": f"benchmarks/report_scale.py --rows {rows}", "data": {"source": "synthetic", "format": "frame"}}
    return AuditResult(scores, metrics, run, data.class_names)


def render(result: AuditResult, path: Path, max_rows: int) -> tuple[float, int]:
    start = time.perf_counter()
    html = render_report(result, max_rows=max_rows)
    seconds = time.perf_counter() - start
    path.write_text(html, encoding="utf-8")
    return seconds, path.stat().st_size


def browser_load(paths: list[Path], repeats: int = 3) -> list[dict]:
    """Median time to the load event and to the table script being ready, per file."""
    results = []
    with chromium() as browser:
        for path in paths:
            loads, walls = [], []
            for _ in range(repeats):
                page = browser.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                start = time.perf_counter()
                page.goto(path.resolve().as_uri(), wait_until="load")
                walls.append(time.perf_counter() - start)
                loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
                assert page.get_attribute("html", "data-ready") == "true" and not errors, errors
                page.close()
            results.append({"load_s": float(np.median(loads)), "wall_s": float(np.median(walls))})
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS)
    parser.add_argument("--baseline-rows", type=int, default=1_000)
    parser.add_argument("--words", type=int, default=22, help="mean words per text (~6 characters each)")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to BENCHMARKS.md")
    parser.add_argument("--evidence-only", action="store_true",
                        help="time only the neighbour evidence (TF-IDF + search for the queried rows)")
    parser.add_argument("--real-texts", action="store_true",
                        help="with --evidence-only: the shared GoEmotions and emotion texts instead of synthetic ones")
    args = parser.parse_args(argv)
    if args.evidence_only:
        return evidence_timing(args)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        big = synthetic_result(args.rows, args.classes, words=args.words)
        scoring_s = time.perf_counter() - t0
        base = synthetic_result(args.baseline_rows, args.classes, seed=1, words=args.words)
        base_s, base_size = render(base, tmp / "base.html", args.max_rows)
        big_s, big_size = render(big, tmp / "big.html", args.max_rows)
        timings = browser_load([tmp / "base.html", tmp / "big.html"]) if not browser_missing() else None

    command = " ".join(["python benchmarks/report_scale.py", *(argv if argv is not None else sys.argv[1:])])
    line = (f"| {date.today()} | `{command}` | {args.rows:,} × {args.classes} | ~{args.words * 6:,} | {args.max_rows:,} | "
            f"{big_size / 1e6:.2f} MB | "
            f"{big_s:.1f} s ({big_s / base_s:.2f}× the {args.baseline_rows:,}-row report's {base_s:.1f} s) | ")
    if timings:
        b, g = timings
        line += (f"{g['load_s']:.2f} s ({g['load_s'] / b['load_s']:.2f}× the {args.baseline_rows:,}-row "
                 f"report's {b['load_s']:.2f} s) |")
    else:
        line += "not measured (no chromium) |"
    print(f"scores for {args.rows:,} rows built in {scoring_s:.1f} s; baseline report {base_size / 1e6:.2f} MB")
    print(line)
    if not args.no_append:
        _append(line, args)
    return 0


def evidence_timing(args) -> int:
    """`neighbour_columns` (TF-IDF of every text, then the queried rows' neighbours) at --baseline-rows × 10
    and at --rows, in one process: once for the 2,000-row floor alone and once with the run's budget
    (every flagged row within `EVIDENCE_CELLS`); prints rows queried, wall and CPU seconds, peak RSS.
    The inputs are drawn directly (texts as `synthetic_result` makes them, 10% flipped labels flagged, a
    random rank), so a million rows need no scoring."""
    import resource

    from auditor.scoring.neighbours import EVIDENCE_CELLS, EVIDENCE_ROWS, neighbour_columns, text_features

    real = _real_texts() if args.real_texts else None
    for rows in ([len(real)] if real else (args.baseline_rows * 10, args.rows)):
        rng = np.random.default_rng(rows)
        labels = rng.integers(0, args.classes, rows)
        flagged = rng.random(rows) < 0.1
        labels[flagged] = (labels[flagged] + rng.integers(1, args.classes, int(flagged.sum()))) % args.classes
        texts = real or _texts(rng, rows, args.words)
        rank = rng.permutation(rows) + 1
        wall, cpu = time.perf_counter(), time.process_time()
        text_features(texts)
        print(f"TF-IDF of {rows:,} texts alone: {time.perf_counter() - wall:.1f} s "
              f"(CPU {time.process_time() - cpu:.1f} s)", flush=True)
        for name, budget in ((f"{EVIDENCE_ROWS:,}-row floor", 0), (f"budget {EVIDENCE_CELLS:.0e} cells", None)):
            wall, cpu = time.perf_counter(), time.process_time()
            columns = neighbour_columns(np.arange(rows), labels, [str(c) for c in range(args.classes)], rank,
                                        flagged, texts=texts, budget_cells=budget)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            queried = int((columns["neighbour_ids"] != "").sum())
            print(f"neighbour evidence, {rows:,} rows ({int(flagged.sum()):,} flagged), {name}: {queried:,} rows "
                  f"queried ({queried * rows:.1e} cells) in {wall:.1f} s (CPU {cpu:.1f} s); "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process {peak:,.0f} MB")
    return 0


def _real_texts() -> list[str]:
    """Every text of the shared GoEmotions (train, dev, test) and emotion (train, validation, test) splits."""
    shared = next(p for p in (ROOT.parent / "shared", Path("/work/shared")) if (p / "data").is_dir()) / "data"
    texts = [line.split("\t")[0] for split in ("train", "dev", "test")
             for line in (shared / "goemotions" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()]
    texts += [line.rsplit(";", 1)[0] for split in ("train", "validation", "test")
              for line in (shared / "emotion" / f"{split}.txt").read_text(encoding="utf-8").splitlines()]
    return texts


def _texts(rng, rows: int, words: int) -> list[str]:
    """Texts as `synthetic_result` draws them: common words plus three Zipf-distributed rare words."""
    lengths = rng.integers(max(1, words // 4), 2 * words - max(1, words // 4), rows)
    rare = rng.zipf(1.3, (rows, 3)) % 50_000
    return [" ".join([*rng.choice(WORDS, n), *(f"w{r}" for r in extra)]) for n, extra in zip(lengths, rare)]


def _append(line: str, args) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    header = "## Report at scale (benchmarks/report_scale.py)"
    if header not in text:
        text = text.rstrip("\n") + f"""

{header}

Synthetic scores (10% flipped labels) rendered by `auditor.report.html.render_report`, then opened from disk
in headless Chromium (`/usr/bin/chromium`); load = the navigation's `loadEventEnd`, median of 3. Each figure
is also given as a ratio to a 1,000-row report measured in the same command, since the machine is shared.
Machine: {os.cpu_count()}-core CPU ({platform.machine()}), shared with other jobs. Texts longer than
1,000 characters are cut in the page, which bounds the size: 3 tables × 2,000 rows.

| date | command | rows × classes | characters per text (mean) | rows embedded per table | report.html | render (Python) | load in Chromium |
|---|---|---|---|---|---|---|---|
"""
    path.write_text(text.rstrip("\n") + "\n" + line + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
