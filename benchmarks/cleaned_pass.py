"""The cleaned second pass and the long-text members' smoothing, measured on planted noise (issue 13).

    PYTHONPATH=. python benchmarks/cleaned_pass.py --data ../shared/data/20news/train.csv.gz \
        --noise classcond10 --seeds 0 --folds 5 10 [--variants]
    PYTHONPATH=. python benchmarks/cleaned_pass.py --members product --noise classcond10 uniform10 --seeds 0

Plants noise as `auditor bench` does (the same seeds, the same class-conditional planting model), then for each
fold count: the first pass (two members averaged, as `backends.out_of_sample`) and a second pass in which
every fold's models train without the rows the first pass flagged (cleanlab's `find_label_issues`, as
`backends.cleaned_pass`). `--members sweep` (the default): SGD 1e-5 + naive Bayes 0.3 first, then the cleaned
pass for each pair of SGD and naive Bayes smoothings on the long-text features. `--members product`: the
`tfidf` and `nb` backends exactly as the data's plan sets them (lbfgs on character n-grams for tweets), in both
passes. `--variants` adds other ways to use the first pass: a third pass, dropping the top 5/10/20% instead of
the flags, weighting rows by p(given label), and relabelling the flagged rows to the first pass's guess.
Prints AP (self-confidence ranking of the planted flips) per variant.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import average_precision_score
from sklearn.naive_bayes import ComplementNB

from auditor import backends
from auditor.benchmark import stratified_subset
from auditor.benchmark.runner import _data_tag, _plant, _Sources
from auditor.config import DataConfig, TrainConfig
from auditor.data import load_data
from auditor.scoring.label_quality import find_issues

SGD = {f"sgd {a:g}": a for a in (1e-5, 3e-6, 3e-5)}
NB = {f"nb {a:g}": a for a in (0.3, 0.1, 1.0)}


def sweep_models() -> dict:
    """Member name -> model factory(seed): the SGD and naive Bayes smoothings compared."""
    models = {name: (lambda seed, a=a: SGDClassifier(loss="log_loss", alpha=a, max_iter=50, tol=1e-4,
                                                     random_state=seed)) for name, a in SGD.items()}
    models.update({name: (lambda seed, a=a: ComplementNB(alpha=a)) for name, a in NB.items()})
    return models


def tfidf_matrix(texts, k):
    """The TF-IDF matrix the plan's `tfidf` backend builds for these texts."""
    plan = backends.make_plan("tfidf", texts, k)
    backend = backends.make_backend("tfidf", k, TrainConfig(), 0, None, {}, plan)
    backend.prepare(list(texts))
    return backend.features


def product_models(data, k) -> tuple[dict, object]:
    """The plan's own `tfidf` and `nb` classifiers, and the TF-IDF matrix they share."""
    plan = backends.make_plan("tfidf+nb", data.texts, k)
    shared: dict = {}
    made = {name: backends.make_backend(name, k, TrainConfig(), 0, None, shared, plan) for name in plan.backends}
    for backend in made.values():
        backend.prepare(list(data.texts))

    def factory(backend):
        def make(seed):
            backend.seed = seed
            return backend.classifier()
        return make

    return {name: factory(backend) for name, backend in made.items()}, made["tfidf"].features


def _oof(features, make, labels, keep, seed, folds, k, weights=None):
    """Out-of-fold probabilities of one member, each fold trained on its rows where `keep`."""
    assignment = backends.fold_assignment(labels, folds, seed)
    out = np.zeros((len(labels), k))
    for fold in range(folds):
        train = np.flatnonzero((assignment != fold) & keep)
        test = np.flatnonzero(assignment == fold)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SGD's ConvergenceWarning at max_iter
            model = make(seed).fit(features[train], labels[train],
                                   sample_weight=None if weights is None else weights[train])
        out[test] = backends.expand_classes(model.predict_proba(features[test]), model.classes_, k)
    return backends.normalize_probs(out)


def _ap(flipped, labels, probs) -> float:
    return float(average_precision_score(flipped, 1 - probs[np.arange(len(labels)), labels]))


def measure(features, models, first_pair, labels, flipped, seed, folds, k, variants=False) -> dict:
    """AP of the first pass (`first_pair`), of the cleaned pass for that pair and, with the sweep's members,
    for every SGD x naive Bayes pair; with `variants`, of the other uses of the first pass."""
    everyone = np.ones(len(labels), dtype=bool)

    def pair(keep, members=first_pair, y=labels, weights=None):
        return np.mean([_oof(features, models[m], y, keep, seed, folds, k, weights) for m in members], axis=0)

    started = time.perf_counter()
    first = pair(everyone)
    out = {f"first pass ({' + '.join(first_pair)})": _ap(flipped, labels, first),
           "first pass seconds": time.perf_counter() - started}
    flagged = find_issues(labels, first)
    out["flagged rows"], out["flag precision"] = int(flagged.sum()), float(flipped[flagged].mean())
    pairs = [(a, b) for a in SGD for b in NB] if set(SGD) <= set(models) else [first_pair]
    for members in pairs:
        out[f"cleaned: {' + '.join(members)}"] = _ap(flipped, labels, pair(~flagged, members))
    if variants:
        second = pair(~flagged)
        out["third pass"] = _ap(flipped, labels, pair(~find_issues(labels, second)))
        order = np.argsort(-(1 - first[np.arange(len(labels)), labels]), kind="stable")
        for share in (0.05, 0.10, 0.20):
            top = np.zeros(len(labels), dtype=bool)
            top[order[: int(share * len(labels))]] = True
            out[f"drop top {share:.0%}"] = _ap(flipped, labels, pair(~top))
        given = first[np.arange(len(labels)), labels]
        out["weight rows by p(given)"] = _ap(flipped, labels, pair(everyone, weights=given / given.mean()))
        relabelled = labels.copy()
        relabelled[flagged] = first[flagged].argmax(axis=1)
        out["relabel flagged rows"] = _ap(flipped, labels, pair(everyone, y=relabelled))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--noise", nargs="+", default=["classcond10"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--folds", nargs="+", type=int, default=[5])
    parser.add_argument("--members", choices=["sweep", "product"], default="sweep")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--cache-dir", default="reports/.bench-cache")
    args = parser.parse_args()
    data = stratified_subset(load_data(DataConfig(**({"source": args.data} if args.data else {})), min_per_class=5),
                             args.limit)
    k = len(data.class_names)
    sources = _Sources(data.texts, k, _data_tag(data), 5, TrainConfig(), args.cache_dir, print)
    if args.members == "product":
        models, features = product_models(data, k)
        first_pair = ("tfidf", "nb")
    else:
        models, first_pair = sweep_models(), ("sgd 1e-05", "nb 0.3")
        features = tfidf_matrix(data.texts, k)
    for setting in args.noise:
        for seed in args.seeds:
            noisy, flipped = _plant(data, setting, seed, sources)
            for folds in args.folds:
                result = measure(features, models, first_pair, noisy.labels, flipped, seed, folds, k, args.variants)
                for name, value in result.items():
                    print(f"{setting} seed {seed} folds {folds} | {name} | {value:.4f}", flush=True)


if __name__ == "__main__":
    main()
