"""The cleaned second pass with the product's own backends (`tfidf`, `nb` as the plan sets them), on any dataset.

    PYTHONPATH=. python benchmarks/cleaned_pass_product.py DATA NOISE[,NOISE] SEEDS [LIMIT|0] [VARIANTS]
    PYTHONPATH=. python benchmarks/cleaned_pass_product.py examples/emotion_train.txt classcond10,uniform10 0 0 x

Plants noise as `auditor bench` does, takes the first pass's out-of-fold probabilities of `tfidf` and `nb` from
the bench cache (or computes them), and refits both backends per fold without the rows the first pass flagged.
Prints AP of the first pass, the cleaned pass and its seconds; VARIANTS (a comma list, default all) adds
pass3, frac (drop the top 5/10/20%), weight (rows weighted by p(given)), relabel and fold10. Used for the
emotion figures of BENCHMARKS.md's "Cleaned second pass" (lbfgs on character n-grams), where the
cheaper `benchmarks/cleaned_pass.py` (SGD and naive Bayes only) does not apply.
"""
import sys, time, warnings
import numpy as np
from sklearn.metrics import average_precision_score
from auditor.benchmark import stratified_subset
from auditor.benchmark.runner import _data_tag, _plant, _Sources
from auditor.config import DataConfig, TrainConfig
from auditor.data import load_data
from auditor import backends
from auditor.scoring.label_quality import find_issues

src = sys.argv[1]; settings = sys.argv[2].split(","); seeds = [int(s) for s in sys.argv[3].split(",")]
limit = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "0" else None
only = sys.argv[5].split(",") if len(sys.argv) > 5 else None
data = stratified_subset(load_data(DataConfig(source=src), min_per_class=5), limit)
k = len(data.class_names)
sources = _Sources(data.texts, k, _data_tag(data), 5, TrainConfig(), "reports/.bench-cache", print)

def ap(flipped, s): return average_precision_score(flipped, s)
def sc(labels, p): return 1 - p[np.arange(len(labels)), labels]

def backend(name):
    key = f"backend-{name}"
    if key not in sources._prepared:
        plan = backends.make_plan(name, sources.texts, k)
        b = backends.make_backend(name, k, TrainConfig(), 0, None, sources.shared, plan)
        b.prepare(sources.texts)
        sources._prepared[key] = b
    return sources._prepared[key]

def refit(name, labels, keep_mask, seed, weights=None, folds=5):
    b = backend(name); b.seed = seed
    assignment = backends.fold_assignment(labels, folds, seed)
    out = np.zeros((len(labels), k))
    for f in range(folds):
        tr = np.flatnonzero((assignment != f) & keep_mask); te = np.flatnonzero(assignment == f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if weights is None:
                out[te] = b.fit_predict(tr, labels, te)
            else:
                clf = b.classifier().fit(b.features[tr], labels[tr], sample_weight=weights[tr])
                out[te] = backends.expand_classes(clf.predict_proba(b.features[te]), clf.classes_, k)
    return backends.normalize_probs(out)

def pair(y, keep, seed, **kw):
    return (refit("tfidf", y, keep, seed, **kw) + refit("nb", y, keep, seed, **kw)) / 2

for setting in settings:
    for seed in seeds:
        noisy, flipped = _plant(data, setting, seed, sources)
        y = noisy.labels
        t0 = time.time()
        avg = (sources.probs("tfidf", y, setting, seed) + sources.probs("nb", y, setting, seed)) / 2
        p1 = time.time() - t0
        res = {"pass1": ap(flipped, sc(y, avg))}
        allrows = np.ones(len(y), bool)
        issues = find_issues(y, avg)
        variants = {}
        t0 = time.time(); p2 = pair(y, ~issues, seed); res["pass2 s"] = time.time() - t0
        res["pass2 drop flags"] = ap(flipped, sc(y, p2))
        if only is None or "pass3" in only:
            i2 = find_issues(y, p2); p3 = pair(y, ~i2, seed)
            res["pass3"] = ap(flipped, sc(y, p3))
        if only is None or "frac" in only:
            order = np.argsort(-sc(y, avg))
            for frac in (0.05, 0.10, 0.20):
                top = np.zeros(len(y), bool); top[order[: int(frac * len(y))]] = True
                res[f"drop top{int(frac*100)}%"] = ap(flipped, sc(y, pair(y, ~top, seed)))
        if only is None or "weight" in only:
            w = avg[np.arange(len(y)), y]
            res["weight p(given)"] = ap(flipped, sc(y, pair(y, allrows, seed, weights=w / w.mean())))
        if only is None or "relabel" in only:
            y2 = y.copy(); y2[issues] = avg[issues].argmax(1)
            pr = pair(y2, allrows, seed)
            res["relabel flags"] = ap(flipped, sc(y, pr))
        if only is None or "fold10" in only:
            res["pass2 10-fold"] = ap(flipped, sc(y, pair(y, ~issues, seed, folds=10)))
        print(setting, seed, " | ".join(f"{k_}: {v:.4f}" for k_, v in res.items()), flush=True)
