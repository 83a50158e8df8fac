"""Time the default CPU audit of the shipped emotion training split, stage by stage.

    python benchmarks/default_audit.py [--data FILE] [--repeat 1]

Runs `python -m auditor run` (the README's first command) in a subprocess and, alongside it, the
ten-line baseline a practitioner would write (TF-IDF word n-grams + logistic regression with
`cross_val_predict`, then cleanlab `find_label_issues`), and prints both wall times and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_auditor(data: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "auditor", "run", "--out", str(out), "--quiet", "--top", "0"]
        if data:
            cmd += ["--data", data]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        wall = time.perf_counter() - start
        metrics = json.loads((out / "metrics.json").read_text())
    return {"wall_s": round(wall, 1), "stages_s": metrics["timings"], "method": metrics["method"],
            "accuracy": round(metrics["accuracy"], 4), "label_issues": metrics["label_issues"]}


def time_baseline(data: str | None) -> dict:
    start = time.perf_counter()
    import numpy as np
    from cleanlab.filter import find_label_issues
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    lines = Path(data or ROOT / "examples" / "emotion_train.txt").read_text().splitlines()
    texts, labels = zip(*(line.rsplit(";", 1) for line in lines))
    names = sorted(set(labels))
    y = np.array([names.index(l) for l in labels])
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    probs = cross_val_predict(model, list(texts), y, cv=5, method="predict_proba")
    issues = find_label_issues(y, probs)
    return {"wall_s": round(time.perf_counter() - start, 1), "label_issues": int(issues.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data")
    args = parser.parse_args()
    auditor = time_auditor(args.data)
    baseline = time_baseline(args.data)
    print(json.dumps({"auditor": auditor, "baseline": baseline,
                      "ratio_auditor_over_baseline": round(auditor["wall_s"] / baseline["wall_s"], 2)}, indent=2))


if __name__ == "__main__":
    main()
