"""Do training dynamics per label help rank planted multi-label noise? One `finetune` audit of a GoEmotions
slice with planted changes (auditor/multilabel/bench.py), ranked three ways from the same run:

- label evidence alone (`scoring.which_label`'s summed odds on the out-of-sample probabilities);
- dynamics alone (1 − the mean agreement with the most doubted label's given state, `multilabel.dynamics`);
- their average (`scoring.with_dynamics`, single-label's formula; `label_issue_score` holds it only where
  `scoring.RANK_WITH_DYNAMICS` is on);

and the practitioner's baseline (one-vs-rest TF-IDF + LogisticRegression + cleanlab) on the same folds.

    python benchmarks/multilabel_dynamics.py [--limit 800] [--seed 0] [--epochs 2] [--json out.json]
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from auditor.config import DataConfig, RunConfig, TrainConfig  # noqa: E402
from auditor.multilabel import bench  # noqa: E402
from auditor.multilabel.data import load_multilabel, multilabel_from_frame  # noqa: E402
from auditor.multilabel.pipeline import audit_multilabel  # noqa: E402
from auditor.multilabel.scoring import which_label, with_dynamics  # noqa: E402
from multilabel_goemotions import goemotions_dir, table  # noqa: E402


def run(limit=800, seed=0, share=0.1, folds=5, epochs=2.0, learning_rate=None) -> dict:
    folder = goemotions_dir()
    clean = load_multilabel(DataConfig(source=str(folder / "train.tsv"), column_names="text,labels,id",
                                       label_names=str(folder / "emotions.txt")))
    rows = np.sort(np.random.default_rng(seed).choice(len(clean), limit, replace=False))
    texts = [clean.texts[i] for i in rows]
    noisy, changed, answers = bench.plant_multilabel_noise(clean.labels[rows], share, seed)
    names = list(clean.class_names)
    cfg = DataConfig(source="<goemotions-noisy>", label_separator=",")
    data = multilabel_from_frame(bench.noisy_frame(texts, noisy, names), cfg, class_names=names)
    train = TrainConfig(epochs=epochs, learning_rate=learning_rate)
    config = RunConfig(data=cfg, train=train, method="finetune", folds=folds, seed=seed, task="multi-label",
                       quiet=True)
    started = time.perf_counter()
    result = audit_multilabel(data, config)
    seconds = round(time.perf_counter() - started, 1)
    scores, probs = result.scores, result.pred_probs
    index = {n: j for j, n in enumerate(names)}

    def codes(column):
        return [g[0] + str(index[g[1:]]) if g else "" for g in scores[column].astype(str).str.lstrip("'")]

    guesses = codes("suspect_label")
    evidence = which_label(noisy, probs)[3]
    doubt = 1.0 - scores["confidence_score"].to_numpy(dtype=float)
    out = {"rows": limit, "planted": len(changed), "seed": seed, "folds": folds, "epochs": epochs,
           "learning_rate": result.metrics["backend_details"]["finetune"]["learning_rate"],
           "max_length": result.metrics["backend_details"]["finetune"]["max_length"],
           "finetune, label evidence alone": bench.evaluate(evidence, guesses, changed, answers),
           "finetune, dynamics alone": bench.evaluate(doubt, codes("dynamics_label"), changed, answers),
           "finetune, average": dict(bench.evaluate(with_dynamics(evidence, scores), guesses, changed, answers),
                                     seconds=seconds)}
    base_probs = bench.baseline_probs(texts, noisy, scores["fold"].to_numpy())
    out["baseline (TF-IDF LR + cleanlab)"] = bench.evaluate(bench.baseline_ranking(noisy, base_probs),
                                                            bench.naive_guess(noisy, base_probs), changed, answers)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--json")
    args = parser.parse_args()
    results = run(args.limit, args.seed, args.share, args.folds, args.epochs, args.learning_rate)
    print(f"{results['rows']:,} rows, {results['planted']:,} planted changes, seed {args.seed}, {args.folds}-fold, "
          f"{args.epochs:g} epochs, learning rate {results['learning_rate']:g}, max length {results['max_length']}")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
