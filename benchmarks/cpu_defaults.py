"""Candidate sweep for the CPU default: features x classifier x ensemble, on several datasets and noise models.

    PYTHONPATH=. python benchmarks/cpu_defaults.py --data ../shared/data/20news/train.csv.gz --limit 4000
    PYTHONPATH=. python benchmarks/cpu_defaults.py --data examples/emotion_train.txt --limit 4000

Plants 10% uniform and 10% class-conditional flips (the confusion of word n-gram naive Bayes on the clean
labels), gets 5-fold out-of-sample probabilities from each candidate and prints the average precision of
self-confidence ranking, recall in the top 2%, and seconds (features + folds) as a ratio to the baseline
measured in the same process (the machine is shared). Written for issue 13; figures in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.backends import fold_assignment, normalize_probs  # noqa: E402
from auditor.benchmark.noise import detection_metrics, flip_labels  # noqa: E402
from auditor.benchmark.runner import stratified_subset  # noqa: E402
from auditor.config import DataConfig  # noqa: E402
from auditor.data import load_data  # noqa: E402


def _vec(word_min_df=1, char=False, char_max=None, sublinear=True, baseline=False):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    if baseline:
        return TfidfVectorizer(ngram_range=(1, 2))
    parts = [("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=sublinear, min_df=word_min_df,
                                      dtype=np.float32))]
    if char:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                              max_features=char_max, dtype=np.float32)))
    return FeatureUnion(parts)


FEATURES = {
    "base": dict(baseline=True),
    "w1": dict(word_min_df=1),
    "w2": dict(word_min_df=2),
    "w2c100k": dict(word_min_df=2, char=True, char_max=100_000),
    "w1c": dict(word_min_df=1, char=True),  # today's tfidf/nb features
}


def _model(kind, C, seed):
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.naive_bayes import ComplementNB

    if kind == "lbfgs":
        return LogisticRegression(C=C, max_iter=1000, random_state=seed)
    if kind == "saga":
        return LogisticRegression(C=C, solver="saga", max_iter=200, tol=1e-3, random_state=seed)
    if kind == "liblinear":
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(LogisticRegression(C=C, solver="liblinear", random_state=seed))
    if kind == "sgd":
        return SGDClassifier(loss="log_loss", alpha=C, max_iter=50, tol=1e-4, random_state=seed)
    if kind == "cnb":
        return ComplementNB(alpha=C)
    raise ValueError(kind)


# name → (features, model kind, C)
CANDIDATES = {
    "baseline (word 1-2, LR C=10 lbfgs)": ("base", "lbfgs", 10.0),
    "today tfidf (w1+char, lbfgs C=10)": ("w1c", "lbfgs", 10.0),
    "today nb (w1+char, CNB 0.3)": ("w1c", "cnb", 0.3),
    "w2 lbfgs C=10": ("w2", "lbfgs", 10.0),
    "w2 saga C=10": ("w2", "saga", 10.0),
    "w2 liblinear-ovr C=10": ("w2", "liblinear", 10.0),
    "w2 sgd a=1e-5": ("w2", "sgd", 1e-5),
    "w2 cnb 0.3": ("w2", "cnb", 0.3),
    "w2 cnb 0.1": ("w2", "cnb", 0.1),
    "w2c100k saga C=10": ("w2c100k", "saga", 10.0),
    "w2c100k liblinear-ovr C=10": ("w2c100k", "liblinear", 10.0),
    "w2c100k cnb 0.3": ("w2c100k", "cnb", 0.3),
    "w1 saga C=10": ("w1", "saga", 10.0),
    "w1 cnb 0.3": ("w1", "cnb", 0.3),
}
BASELINE = "baseline (word 1-2, LR C=10 lbfgs)"
ENSEMBLES = {
    "today tfidf+nb": ("today tfidf (w1+char, lbfgs C=10)", "today nb (w1+char, CNB 0.3)"),
    "w2 saga+cnb": ("w2 saga C=10", "w2 cnb 0.3"),
    "w2 liblinear+cnb": ("w2 liblinear-ovr C=10", "w2 cnb 0.3"),
    "w2 sgd+cnb": ("w2 sgd a=1e-5", "w2 cnb 0.3"),
    "w2 lbfgs+cnb": ("w2 lbfgs C=10", "w2 cnb 0.3"),
    "w2c100k saga+cnb": ("w2c100k saga C=10", "w2c100k cnb 0.3"),
    "w2c100k liblinear+cnb": ("w2c100k liblinear-ovr C=10", "w2c100k cnb 0.3"),
    "w1 saga+cnb": ("w1 saga C=10", "w1 cnb 0.3"),
}


def out_of_sample(X, labels, k, kind, C, seed, folds=5):
    from auditor.backends import expand_classes

    assignment = fold_assignment(labels, folds, seed)
    out = np.zeros((len(labels), k))
    for f in range(folds):
        tr, te = np.flatnonzero(assignment != f), np.flatnonzero(assignment == f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _model(kind, C, seed).fit(X[tr], labels[tr])
        out[te] = expand_classes(model.predict_proba(X[te]), model.classes_, k)
    return normalize_probs(out)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=4000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--only", nargs="*", help="candidate names (default: all)")
    p.add_argument("--baseline", action="store_true", help="also the ten-line baseline (minutes on long texts)")
    p.add_argument("--modes", nargs="+", default=["uniform", "class_conditional"])
    args = p.parse_args(argv)
    from sklearn.metrics import confusion_matrix

    data = stratified_subset(load_data(DataConfig(source=args.data), min_per_class=5), args.limit)
    k, texts = len(data.class_names), list(data.texts)
    print(f"# {args.data}: {len(data)} rows, {k} classes, mean {np.mean([len(t) for t in texts]):.0f} chars",
          flush=True)
    candidates = {n: c for n, c in CANDIDATES.items() if not args.only or n in args.only}
    if args.baseline:
        candidates = {BASELINE: CANDIDATES[BASELINE], **candidates}
    feats, feat_seconds = {}, {}
    for name, kw in FEATURES.items():
        if name not in {c[0] for c in candidates.values()}:
            continue
        start = time.perf_counter()
        feats[name] = _vec(**kw).fit_transform(texts).tocsr()
        feat_seconds[name] = time.perf_counter() - start
        print(f"features {name}: {feats[name].shape[1]} columns, {feat_seconds[name]:.1f}s", flush=True)
    # Confusion of a cheap model (seconds) on the clean labels: lbfgs on 600,000 columns takes minutes here.
    clean = out_of_sample(_vec(word_min_df=2).fit_transform(texts).tocsr(), data.labels, k, "cnb", 0.3, 0)
    confusion = confusion_matrix(data.labels, clean.argmax(axis=1), labels=np.arange(k))
    for mode in args.modes:
        for seed in args.seeds:
            noisy, flipped = flip_labels(data.labels, 0.1, seed, k, mode=mode, confusion=confusion)
            probs, seconds = {}, {}
            for name, (fname, kind, C) in candidates.items():
                start = time.perf_counter()
                probs[name] = out_of_sample(feats[fname], noisy, k, kind, C, seed)
                seconds[name] = time.perf_counter() - start + feat_seconds[fname]
                _print(mode, seed, name, flipped, noisy, probs[name], seconds[name], seconds.get(BASELINE))
            rows = []
            for name, (a, b) in ENSEMBLES.items():
                if a in probs and b in probs:
                    shared = CANDIDATES[a][0] == CANDIDATES[b][0]
                    extra = feat_seconds[CANDIDATES[b][0]] if shared else 0.0
                    rows.append((name, normalize_probs((probs[a] + probs[b]) / 2), seconds[a] + seconds[b] - extra))
            for name, pr, s in rows:
                _print(mode, seed, name, flipped, noisy, pr, s, seconds.get(BASELINE))


def _print(mode, seed, name, flipped, noisy, probs, seconds, base_seconds):
    m = detection_metrics(flipped, 1 - probs[np.arange(len(noisy)), noisy])
    ratio = f"{seconds / base_seconds:.2f}" if base_seconds else "-"
    print(f"{mode}\t{seed}\t{name}\t{m['average_precision']:.3f}\t{m['recall_at_2pct']:.3f}\t{seconds:.1f}\t{ratio}",
          flush=True)


if __name__ == "__main__":
    main()
