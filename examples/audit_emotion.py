"""Audit the shipped emotion training split from Python, end to end.

    python examples/audit_emotion.py [--limit N] [--out reports/example]

The same steps as examples/audit_emotion.ipynb: audit, look at the suspects, plot the confusion
matrix, export the annotators' CSV, play the annotator, and apply the corrections.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from auditor import apply_corrections, audit  # noqa: E402

HERE = Path(__file__).resolve().parent


def emotion_data(limit: int | None, out: Path) -> Path:
    """The shipped split, or its first `limit` rows written next to the outputs."""
    source = HERE / "emotion_train.txt"
    if not limit:
        return source
    out.mkdir(parents=True, exist_ok=True)
    lines = source.read_text(encoding="utf-8").splitlines()[:limit]
    (out / "emotion.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out / "emotion.txt"


def main(limit: int | None, out: Path) -> dict:
    # 1. Audit: out-of-sample probabilities (k-fold), cleanlab scores, ranks and reasons.
    data = emotion_data(limit, out)
    result = audit(data, method="tfidf", folds=5, seed=0, verbose=False)
    print(result)

    # 2. The most suspect examples, as the book's "highest loss" table.
    top = result.suspects(10)[["rank", "text", "given_label", "suggested_label", "loss_score", "reasons"]]
    print(top.to_string(index=False, max_colwidth=60))

    # 3. The normalised confusion matrix, drawn on an Axes we own.
    fig, ax = plt.subplots(figsize=(6, 6))
    result.plot_confusion_matrix(ax=ax)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "confusion_matrix.png", bbox_inches="tight")

    # 4. Save the run: scores, metrics, report.html and suspects.csv, as `auditor run` writes them.
    run_dir = result.save(out / "run", overwrite=True)

    # 5. Play the annotator: accept the suggestion for the top 5, delete the 6th, keep the rest.
    suspects = pd.read_csv(run_dir / "suspects.csv", keep_default_na=False, encoding="utf-8-sig")
    suspects.loc[:4, "corrected_label"] = suspects.loc[:4, "suggested_label"]
    suspects.loc[5, "corrected_label"] = "DELETE"
    annotated = out / "annotated.csv"
    suspects.to_csv(annotated, index=False)

    # 6. Apply: cleaned data in the input's format plus changes.csv; the input file is untouched.
    summary = apply_corrections(run_dir, annotated, out=out / "cleaned", overwrite=True)
    print(f"relabelled {summary['relabelled']}, deleted {summary['deleted']}, {summary['rows']} rows left")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="audit only the first N rows")
    parser.add_argument("--out", type=Path, default=Path("reports/example"))
    args = parser.parse_args()
    main(args.limit, args.out)
