"""A cleaned second pass for the multi-label default, tried on GoEmotions (issue 16; not adopted).

    PYTHONPATH=. python benchmarks/multilabel_cleaned_pass.py 3000 0      # LIMIT SEED

Plants multi-label noise as benchmarks/multilabel_goemotions.py does, runs the default audit, then refits the
one-vs-rest TF-IDF model per fold without cleanlab's flagged rows (or the top 10% / 20%) and prints the AP and
"which label" share of each, and of the practitioner's baseline.
"""
import sys, time, json
import numpy as np
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.multilabel_goemotions import goemotions_dir
from auditor.config import DataConfig, RunConfig
from auditor.multilabel import bench
from auditor.multilabel.data import load_multilabel, multilabel_from_frame
from auditor.multilabel.pipeline import audit_multilabel
from auditor.multilabel.backend import TfidfOneVsRest
from auditor.multilabel.scoring import score_multilabel

limit, seed = int(sys.argv[1]), int(sys.argv[2])
folder = goemotions_dir()
clean = load_multilabel(DataConfig(source=str(folder / "train.tsv"), column_names="text,labels,id", label_names=str(folder / "emotions.txt")))
rows = np.sort(np.random.default_rng(seed).choice(len(clean), limit, replace=False))
texts = [clean.texts[i] for i in rows]
noisy, changed, answers = bench.plant_multilabel_noise(clean.labels[rows], 0.1, seed)
names = list(clean.class_names)
cfg = DataConfig(source="<goemotions-noisy>", label_separator=",")
data = multilabel_from_frame(bench.noisy_frame(texts, noisy, names), cfg, class_names=names)
config = RunConfig(data=cfg, method="auto", folds=5, seed=seed, task="multi-label", quiet=True)
t0 = time.time(); result = audit_multilabel(data, config); t1 = time.time() - t0
index = {n: j for j, n in enumerate(names)}
def ev(scores):
    guesses = [g[0] + str(index[g[1:]]) if g else "" for g in scores["suspect_label"]]
    return bench.evaluate(scores["label_issue_score"].to_numpy(), guesses, changed, answers)
res = {"pass1": ev(result.scores)}
folds = result.scores["fold"].to_numpy()
flag = result.scores["is_label_issue"].to_numpy(bool)
be = TfidfOneVsRest(len(names), seed); be.prepare(texts)
labels = np.asarray(data.labels, dtype=np.int8)
def pass2(drop):
    p = np.zeros(labels.shape)
    for f in range(5):
        tr = np.flatnonzero((folds != f) & ~drop); te = np.flatnonzero(folds == f)
        p[te] = be.fit_predict(tr, labels, te)
    return p
t0 = time.time()
p2 = pass2(flag); t2 = time.time() - t0
s2 = score_multilabel(data, p2, signals=(), seed=seed)
res["pass2 flags"] = ev(s2); res["n_flag"] = int(flag.sum()); res["flag precision"] = float(np.isin(np.flatnonzero(flag), changed).mean())
order = np.argsort(-result.scores["label_issue_score"].to_numpy())
for frac in (0.1, 0.2):
    top = np.zeros(len(labels), bool); top[order[: int(frac * len(labels))]] = True
    res[f"pass2 top{int(frac*100)}%"] = ev(score_multilabel(data, pass2(top), signals=(), seed=seed))
base = bench.baseline_probs(texts, noisy, folds)
res["baseline"] = bench.evaluate(bench.baseline_ranking(noisy, base), bench.naive_guess(noisy, base), changed, answers)
print(limit, seed, f"pass1 {t1:.0f}s pass2 {t2:.0f}s", json.dumps({k: (round(v["ap"], 4), round(v["which_label_right"], 3)) if isinstance(v, dict) else v for k, v in res.items()}), flush=True)
