"""The detection benchmark: plant label noise, run each method on the noisy labels, score its ranking.

Three registries keep the comparison open-ended:
- `SOURCES`: ways to get out-of-sample probabilities (the auditor's backends, the practitioner's
  baseline, and candidate variants). Each is computed once per (data, noise, seed) and cached on disk.
- `SIGNALS`: columns of the auditor's scores table to rank by (a new scorer is one entry here).
- `METHODS`: what is compared: probabilities (one source or a weighted average) × a ranking rule.
`run_benchmark` returns one row per (noise setting, seed, method) with `auditor.benchmark.noise.detection_metrics`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import backends
from .noise import calibration_metrics, detection_metrics, flip_labels
from .tables import summarize, write_results
from ..errors import OptionError
from ..safeio import safe_write
from ..scoring.duplicates import normalize_text
from ..scoring.registry import SIGNALS as REGISTRY

__all__ = ["NOISE_SETTINGS", "SOURCES", "SIGNALS", "METHODS", "Method", "run_benchmark", "summarize",
           "duplicate_conflicts", "bench"]

# name → (mode, fraction)
NOISE_SETTINGS = {
    "uniform5": ("uniform", 0.05),
    "uniform10": ("uniform", 0.10),
    "uniform20": ("uniform", 0.20),
    "classcond10": ("class_conditional", 0.10),
    "oneclass10": ("one_class", 0.10),
}

# Ranking name → (key in `scoring.combine.signal_scores`, or parts for `combined_score`; flag column;
# cleanlab score method the table is built with). Each signal declares its own rankings
# (`Signal.benchmark`); the audit's order and the combinations are the benchmark's.
SIGNALS = {
    "audit": (None, "is_label_issue", "self_confidence"),
    **{name: (key, signal.flag, score_method) for signal in REGISTRY.values()
       for name, key, score_method in signal.benchmark},
    "combined (label quality + conflicting duplicates)": (
        ("label_quality", "conflicting_duplicate"), "is_label_issue", "self_confidence"),
    "combined (label quality + dynamics + conflicting duplicates)": (
        ("label_quality", "dynamics_confidence", "conflicting_duplicate"), "is_label_issue", "self_confidence"),
}
# Scorers the benchmark's tables run besides the audit's defaults: every signal with a benchmark name
# that needs no training dynamics (those come only from a fine-tune's own run).
EXTRA_SCORERS = tuple(name for name, signal in REGISTRY.items() if signal.benchmark and "dynamics" not in signal.inputs)


@dataclass(frozen=True)
class Method:
    """Probabilities `{source: weight}` (averaged) ranked by `signal`, or a ranking rule of its own."""

    name: str
    probs: dict = field(default_factory=dict)
    signal: str = "audit"
    group: str = "backend"
    rule: str | None = None  # "cleanlab_baseline" or "random": rankings the benchmark computes itself


def _m(name, probs, signal="audit", group="backend", rule=None):
    return Method(name, dict(probs), signal, group, rule)


BASELINE = "baseline: word TF-IDF + LR C=10 + cleanlab"
# The probabilities the signals are compared on: the CPU default's (see backends.resolve_methods).
SIGNAL_PROBS = {"tfidf": 1, "nb": 1}
_SIGNAL_TAG = "+".join(SIGNAL_PROBS)

METHODS = [
    _m("tfidf", {"tfidf": 1}),
    _m("nb", {"nb": 1}),
    _m("embeddings", {"embeddings": 1}),
    _m("hybrid", {"hybrid": 1}),
    _m("finetune", {"finetune": 1}, group="finetune"),
    _m("finetune+tfidf", {"finetune": 1, "tfidf": 1}, group="finetune"),
    _m("finetune+tfidf+nb", {"finetune": 1, "tfidf": 1, "nb": 1}, group="finetune"),
    # Probability averages ("a+b" = equal weights, as --method a+b does) ...
    _m("tfidf+embeddings", {"tfidf": 1, "embeddings": 1}, group="ensemble"),
    _m("0.7 tfidf + 0.3 embeddings", {"tfidf": 0.7, "embeddings": 0.3}, group="ensemble"),
    _m("0.85 tfidf + 0.15 embeddings", {"tfidf": 0.85, "embeddings": 0.15}, group="ensemble"),
    _m("tfidf+nb", {"tfidf": 1, "nb": 1}, group="ensemble"),
    _m("hybrid+nb", {"hybrid": 1, "nb": 1}, group="ensemble"),
    _m("hybrid+tfidf", {"hybrid": 1, "tfidf": 1}, group="ensemble"),
    _m("tfidf+embeddings+nb", {"tfidf": 1, "embeddings": 1, "nb": 1}, group="ensemble"),
    _m("0.3 hybrid + 0.7 nb", {"hybrid": 0.3, "nb": 0.7}, group="ensemble"),
    # ... against one model on concatenated features: `hybrid` above.
    *[_m(f"signal: {s} ({_SIGNAL_TAG})", SIGNAL_PROBS, signal=s, group="signal") for s in SIGNALS if s != "audit"],
    _m(BASELINE, {}, group="baseline", rule="cleanlab_baseline"),
    _m("baseline: random", {}, group="baseline", rule="random"),
    # Variants tried for the CPU default (--methods candidate).
    _m("tfidf C=3", {"tfidf_C3": 1}, group="candidate"),
    _m("tfidf C=30", {"tfidf_C30": 1}, group="candidate"),
    _m("tfidf balanced class weights", {"tfidf_balanced": 1}, group="candidate"),
    _m("tfidf char 1-6", {"tfidf_char16": 1}, group="candidate"),
    _m("tfidf 10 folds", {"tfidf_10fold": 1}, group="candidate"),
    _m("tfidf+calibrated LinearSVC", {"tfidf": 1, "svc": 1}, group="candidate"),
    _m("nb alpha=0.1", {"nb_a0.1": 1}, group="candidate"),
    _m("nb alpha=1", {"nb_a1": 1}, group="candidate"),
    _m("tfidf+baseline LR", {"tfidf": 1, "baseline": 1}, group="candidate"),
]
DEFAULT_GROUPS = ("auto", "backend", "ensemble", "signal", "baseline")


def _default_method() -> Method:
    """`python -m auditor run` with its defaults, in a process of its own (wall time and peak RSS measured)."""
    names = backends.resolve_methods("auto")
    return Method(f"auditor run (auto: {'+'.join(names)})", {}, group="auto", rule="audit")


# ---------------------------------------------------------------- probabilities


class _Sources:
    """Out-of-sample probabilities by source name; features are built once, probabilities cached on disk."""

    def __init__(self, texts, n_classes, tag, folds, train_cfg, cache_dir, progress):
        self.texts, self.n_classes, self.tag, self.folds = list(texts), n_classes, tag, folds
        self.train_cfg, self.progress = train_cfg, progress
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._prepared: dict = {}
        self.shared: dict = {}  # one TF-IDF matrix for every linear backend with the same settings
        self.seconds: dict[str, list[float]] = {}

    def probs(self, name: str, labels, noise_key: str, seed: int) -> np.ndarray:
        path = self._path(f"{noise_key}-s{seed}-f{self.folds}-{name}{self._settings_tag(name)}.npz")
        if path is not None and path.exists():
            cached = np.load(path)
            self.seconds.setdefault(name, []).append(float(cached["seconds"]))
            return cached["probs"]
        self.progress(f"{noise_key} seed {seed}: {name}")
        start = time.perf_counter()
        folds = 10 if name == "tfidf_10fold" else self.folds
        assignment = backends.fold_assignment(labels, folds, seed)
        splits = backends.fold_splits(assignment, folds)
        probs = backends.normalize_probs(SOURCES[name](self, labels, splits, seed))
        seconds = time.perf_counter() - start
        self.seconds.setdefault(name, []).append(seconds)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Atomic: benchmarks of other seeds may read the same cached file (the clean labels' probabilities).
            safe_write({path: lambda handle: np.savez(handle, probs=probs, seconds=seconds)}, overwrite=True,
                       option="--cache-dir")
        return probs

    def _settings_tag(self, name: str) -> str:
        """A backend's settings in its cache file's name: a changed default never reads stale probabilities."""
        settings = getattr(SOURCES[name], "settings", None)
        if settings is None:
            return ""
        return "-" + hashlib.sha1(json.dumps(settings(self), sort_keys=True).encode()).hexdigest()[:8]

    def _path(self, name: str) -> Path | None:
        return self.cache_dir / self.tag / name if self.cache_dir else None

    def prepared(self, key: str, build):
        """Label-independent work (features, embeddings, tokenisation), done once per dataset."""
        if key not in self._prepared:
            self._prepared[key] = build()
        return self._prepared[key]

    def tfidf_features(self, **kwargs):
        from ..backends.tfidf import make_vectorizer

        key = "tfidf-features" + json.dumps(kwargs, sort_keys=True)
        return self.prepared(key, lambda: make_vectorizer(**kwargs).fit_transform(self.texts).tocsr())

    def cached_embeddings(self) -> np.ndarray | None:
        return self._prepared.get("embeddings")

    def embeddings(self) -> np.ndarray:
        def build():
            path = self._path("embeddings.npy")
            if path is not None and path.exists():
                return np.load(path)
            from ..backends.embeddings import encode

            self.progress("embeddings: encoding (once per dataset)")
            emb = encode(self.train_cfg.model, self.texts)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                safe_write({path: lambda handle: np.save(handle, emb)}, overwrite=True, option="--cache-dir")
            return emb

        return self.prepared("embeddings", build)


def _per_fold(splits, n, n_classes, fit_predict):
    out = np.zeros((n, n_classes))
    for train_idx, test_idx in splits:
        out[test_idx] = fit_predict(train_idx, test_idx)
    return out


def _backend_source(name, **fixed):
    """A registered auditor backend, prepared once per dataset and refitted per fold; `fixed` overrides
    settings of the plan's `text_features`."""

    def plan(ctx: _Sources):
        made = backends.make_plan(name, ctx.texts, ctx.n_classes)
        if made.text_features is None or not fixed:
            return made
        return dataclasses.replace(made, text_features={**made.text_features, **fixed})

    def source(ctx: _Sources, labels, splits, seed):
        def build():
            backend = backends.make_backend(name, ctx.n_classes, ctx.train_cfg, 0, None, ctx.shared, plan(ctx))
            if name in ("embeddings", "hybrid"):
                backend.embeddings = ctx.embeddings()
            if name != "embeddings":
                backend.prepare(ctx.texts)
            return backend

        backend = ctx.prepared(f"backend-{name}-{json.dumps(fixed, sort_keys=True)}", build)
        backend.seed = seed
        return _per_fold(splits, len(labels), ctx.n_classes, lambda tr, te: backend.fit_predict(tr, labels, te))

    source.settings = lambda ctx: plan(ctx).text_features
    return source


def _sklearn_source(features, make_model):
    """Any scikit-learn classifier on features built once per dataset."""

    def source(ctx: _Sources, labels, splits, seed):
        X = features(ctx)

        def fit_predict(tr, te):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make_model(seed).fit(X[tr], labels[tr])
            return backends.expand_classes(model.predict_proba(X[te]), model.classes_, ctx.n_classes)

        return _per_fold(splits, len(labels), ctx.n_classes, fit_predict)

    return source


# The ten lines a practitioner writes (word 1-2-gram TF-IDF + LogisticRegression C=10, k-fold, cleanlab),
# run as a script of its own so that its wall time and peak memory stand beside the audit's.
BASELINE_SCRIPT = """
import sys, numpy as np, pandas as pd
from cleanlab.filter import find_label_issues
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
data, out, folds, seed = pd.read_csv(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(C=10, max_iter=1000))
cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
probs = cross_val_predict(pipe, data["text"], data["label"], cv=cv, method="predict_proba")
issues = find_label_issues(data["label"], probs, return_indices_ranked_by="self_confidence")
np.savez(out, probs=probs, issues=issues)
"""


def _baseline_source(ctx: _Sources, labels, splits, seed):
    """The baseline's probabilities in this process (to average with others: candidate methods)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(C=10, max_iter=1000))
    return cross_val_predict(pipe, np.array(ctx.texts, dtype=object), labels, cv=splits, method="predict_proba")


# Prepended to a measured child process: at exit it writes its peak resident memory in kB. Linux's VmHWM is the
# child's own; `ru_maxrss` also counts the parent's memory at the time the child was spawned (it survives the exec):
# the 3 GB that three 20news runs of a 1 GB audit reported in session 13 were the bench process's own size.
_MEASURE = ("import atexit, os, resource\n"
            "def _peak_kb():\n"
            "    try:\n"
            "        return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
            "    except (OSError, StopIteration):\n"
            "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "atexit.register(lambda: open(os.environ['AUDITOR_BENCH_RSS'], 'w').write(str(_peak_kb())))\n")


def measured_process(code: str, args, workdir: Path) -> tuple[float, float]:
    """Run `python -c code args...` in a fresh interpreter; returns (wall seconds, peak RSS in MB)."""
    import os
    import subprocess
    import sys

    rss_file = Path(workdir) / "peak_rss_kb"
    env = dict(os.environ, AUDITOR_BENCH_RSS=str(rss_file))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE + code, *map(str, args)], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark process failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return seconds, int(rss_file.read_text()) / 1024


def _write_noisy(data, workdir: Path) -> Path:
    """The noisy data as a CSV; labels as class numbers, so every reader orders the classes alike."""
    path = Path(workdir) / "noisy.csv"
    pd.DataFrame({"id": np.arange(len(data)), "text": list(data.texts), "label": data.labels}).to_csv(path, index=False)
    return path


def _process_ranking(method: Method, data, seed: int, folds: int):
    """(score, flag, probabilities, seconds, peak RSS MB) of a method that runs as its own process."""
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        csv = _write_noisy(data, Path(tmp))
        if method.rule == "audit":
            code = ("import runpy, sys\nsys.argv = ['auditor', *sys.argv[1:]]\n"
                    "runpy.run_module('auditor', run_name='__main__')")
            args = ["run", "--data", csv, "--id-column", "id", "--out", Path(tmp) / "run", "--quiet",
                    "--folds", folds, "--seed", seed]
            seconds, rss = measured_process(code, args, Path(tmp))
            # Classes are the numbers _write_noisy wrote, so prob_<i> is class i whatever order the run sorted.
            probs = [f"prob_{i}" for i in range(len(data.class_names))]
            columns = ["id", "rank", "is_label_issue", *probs]
            table = pd.read_parquet(Path(tmp) / "run" / "scores.parquet", columns=columns)
            table = table.set_index("id").loc[np.arange(len(data))]
            return (-table["rank"].to_numpy(np.float64), table["is_label_issue"].to_numpy(bool),
                    table[probs].to_numpy(np.float64), seconds, rss)
        seconds, rss = measured_process(BASELINE_SCRIPT, [csv, Path(tmp) / "out.npz", folds, seed], Path(tmp))
        saved = np.load(Path(tmp) / "out.npz")
        score, flag = _cleanlab_ranking(data.labels, saved["probs"], saved["issues"])
        return score, flag, saved["probs"], seconds, rss


def _lr(C=10.0, **kw):
    from sklearn.linear_model import LogisticRegression

    return lambda seed: LogisticRegression(C=C, max_iter=1000, random_state=seed, **kw)


def _svc(seed):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    return CalibratedClassifierCV(LinearSVC(C=0.5, random_state=seed), cv=3)


def _cnb(alpha):
    from sklearn.naive_bayes import ComplementNB

    return lambda seed: ComplementNB(alpha=alpha)


SOURCES = {
    # Class-conditional flips follow this model's confusions on the clean labels: `tfidf` as the session-13
    # figures planted them (SGD alpha 1e-5 on long texts), fixed so that a new default plants the same noise.
    "planting": _backend_source("tfidf", sgd_alpha=1e-5),
    "tfidf": _backend_source("tfidf"),
    "embeddings": _backend_source("embeddings"),
    "finetune": _backend_source("finetune"),
    "baseline": _baseline_source,
    "hybrid": _backend_source("hybrid"),
    "tfidf_C3": _sklearn_source(lambda c: c.tfidf_features(), _lr(3.0)),
    "tfidf_C30": _sklearn_source(lambda c: c.tfidf_features(), _lr(30.0)),
    "tfidf_balanced": _sklearn_source(lambda c: c.tfidf_features(), _lr(class_weight="balanced")),
    "tfidf_char16": _sklearn_source(lambda c: c.tfidf_features(char_range=(1, 6)), _lr()),
    "tfidf_10fold": _sklearn_source(lambda c: c.tfidf_features(), _lr()),
    "svc": _sklearn_source(lambda c: c.tfidf_features(), _svc),
    "nb": _backend_source("nb"),
    "nb_a0.1": _sklearn_source(lambda c: c.tfidf_features(), _cnb(0.1)),
    "nb_a1": _sklearn_source(lambda c: c.tfidf_features(), _cnb(1.0)),
}


# ---------------------------------------------------------------- rankings and the run


def select_methods(spec=None, finetune: bool = False) -> list[Method]:
    """Methods named by group ('backend', 'candidate', 'all', ...) or by name; default: every cheap group."""
    groups = {m.group for m in METHODS} | {"auto"}
    wanted = list(spec) if spec else list(DEFAULT_GROUPS) + (["finetune"] if finetune else [])
    if "all" in wanted:
        # Fine-tuning stays opt-in on CPU: it takes an hour where the rest takes minutes.
        wanted = sorted(groups - ({"finetune"} if not finetune else set())) + [w for w in wanted if w != "all"]
    by_name = {m.name: m for m in METHODS}
    unknown = [w for w in wanted if w not in groups and w not in by_name]
    if unknown:
        raise OptionError(
            f"The 'methods' option must name groups ({', '.join(sorted(groups))}, all) or methods. "
            f"Got {unknown[0]!r} instead."
        )
    chosen = [_default_method()] if "auto" in wanted else []
    chosen += [m for m in METHODS if m.group in wanted or m.name in wanted]
    if not finetune and "finetune" not in wanted:
        chosen = [m for m in chosen if "finetune" not in m.probs]
    return chosen


def _blend(sources: _Sources, method: Method, labels, noise_key, seed) -> np.ndarray:
    total = sum(method.probs.values())
    probs = sum(w / total * sources.probs(s, labels, noise_key, seed) for s, w in method.probs.items())
    return backends.normalize_probs(probs)


def _ranking(method: Method, data, probs, seed, tables: dict, embeddings=None):
    """(score, flag) of one method; higher score = more suspect. None when its signal is not available."""
    from ..scoring.combine import combined_score, signal_scores

    labels = data.labels
    if method.rule == "random":
        return np.random.default_rng(seed).random(len(labels)), None
    key_or_parts, flag_column, score_method = SIGNALS[method.signal]
    table = _table(tables, method, data, probs, score_method, embeddings)
    if key_or_parts is None:
        # The audit's own order (rank 1 = most suspect), with its tie-breaking.
        score = -table["rank"].to_numpy(dtype=np.float64)
    elif isinstance(key_or_parts, tuple):
        if not set(key_or_parts) <= set(signal_scores(table)):
            return None
        score = combined_score(table, key_or_parts)
    else:
        pieces = signal_scores(table)
        if key_or_parts not in pieces:
            return None
        # A signal that says nothing about a row (NaN) ranks it last.
        score = np.nan_to_num(pieces[key_or_parts], nan=-np.inf)
    flag = table[flag_column].to_numpy(dtype=bool) if flag_column in table else None
    return score, flag


def _table(tables, method, data, probs, score_method, embeddings):
    from ..pipeline import build_scores
    from ..scoring import DEFAULT_SIGNALS

    key = (tuple(sorted(method.probs.items())), score_method)
    if key not in tables:
        signals = tuple(s for s in dict.fromkeys((*DEFAULT_SIGNALS, *EXTRA_SCORERS)) if s != "dynamics")
        # As in the audit, only a method whose backend computed embeddings hands them to the scorers.
        uses = {"embeddings", "hybrid"} & set(method.probs)
        tables[key] = build_scores(data, probs, score_method, signals=signals,
                                   embeddings=embeddings if uses else None, seed=0)
    return tables[key]


def _cleanlab_ranking(labels, probs, issues):
    """cleanlab's `find_label_issues` ranked by self-confidence; unflagged rows follow, by self-confidence."""
    flag = np.zeros(len(labels), dtype=bool)
    flag[issues] = True
    score = 1.0 - probs[np.arange(len(labels)), labels]
    score[issues] = 2.0 + np.linspace(1.0, 0.0, len(issues), endpoint=False)
    return score, flag


def duplicate_conflicts(texts, labels) -> np.ndarray:
    """True where another row has the same text (`scoring.duplicates.normalize_text`: case, punctuation,
    spacing) and a different label."""
    keys = pd.Series([normalize_text(t) for t in texts])
    n_labels = pd.Series(labels).groupby(keys).transform("nunique").to_numpy()
    return n_labels > 1


def _unplanted_suspects(score, is_flipped, conflicts, top=50) -> dict:
    order = np.argsort(-score, kind="stable")
    unplanted = order[~is_flipped[order]][:top]
    return {"top": int(len(unplanted)), "with_conflicting_duplicate": int(conflicts[unplanted].sum())}


def stratified_subset(data, limit: int | None, seed: int = 0):
    """A class-stratified subset of `limit` rows (in input order); the data itself when limit is None."""
    import dataclasses

    from sklearn.model_selection import train_test_split

    if limit is None or limit >= len(data):
        return data
    keep, _ = train_test_split(np.arange(len(data)), train_size=limit, stratify=data.labels, random_state=seed)
    keep = np.sort(keep)
    return dataclasses.replace(
        data, ids=np.asarray(data.ids)[keep], texts=tuple(data.texts[i] for i in keep), labels=data.labels[keep],
        frame=data.frame.iloc[keep].reset_index(drop=True) if data.frame is not None else None,
    )


def _data_tag(data) -> str:
    digest = hashlib.sha1()
    for text, label in zip(data.texts, data.labels):
        digest.update(f"{text}\t{label}\n".encode())
    return f"{data.name}-{len(data)}-{digest.hexdigest()[:10]}"


def _plant(data, setting: str, seed: int, sources: _Sources):
    import dataclasses

    from sklearn.metrics import confusion_matrix

    mode, fraction = NOISE_SETTINGS[setting]
    k = len(data.class_names)
    confusion = None
    if mode == "class_conditional":
        # What the auditor's own CPU model confuses on the clean labels (fixed seed: the same for every run).
        clean = sources.probs("planting", data.labels, "clean", 0)
        confusion = confusion_matrix(data.labels, clean.argmax(axis=1), labels=np.arange(k))
    noisy, flipped = flip_labels(data.labels, fraction, seed, k, mode=mode, confusion=confusion)
    return dataclasses.replace(data, labels=noisy), flipped


def run_benchmark(data, *, noise=("uniform10",), seeds=(0,), methods=None, folds=5, train_cfg=None,
                  cache_dir="reports/.bench-cache", progress=None) -> dict:
    """Per (noise, seed, method) detection metrics; `data` is an `AuditData` with the clean labels.

    Returns {"rows": DataFrame, "suspects": DataFrame, "seconds": {source: mean seconds}}.
    """
    from ..config import TrainConfig

    progress = progress or (lambda message: None)
    methods = methods if methods is not None else select_methods()
    _check_noise(noise)
    sources = _Sources(data.texts, len(data.class_names), _data_tag(data), folds, train_cfg or TrainConfig(),
                       cache_dir, progress)
    rows, suspects = [], []
    for setting in noise:
        for seed in seeds:
            noisy, flipped = _plant(data, setting, seed, sources)
            conflicts = duplicate_conflicts(noisy.texts, noisy.labels)
            tables: dict = {}
            for method in methods:
                rss = np.nan
                if method.rule in ("audit", "cleanlab_baseline"):
                    progress(f"{setting} seed {seed}: {method.name} (own process)")
                    score, flag, probs, seconds, rss = _process_ranking(method, noisy, seed, folds)
                else:
                    probs = _blend(sources, method, noisy.labels, setting, seed) if method.probs else None
                    ranked = _ranking(method, noisy, probs, seed, tables, sources.cached_embeddings())
                    if ranked is None:
                        continue
                    score, flag = ranked
                    seconds = sum(np.mean(sources.seconds.get(s, [np.nan])) for s in method.probs)
                rows.append({"noise": setting, "seed": seed, "method": method.name, "group": method.group,
                             "n": len(data), "flips": int(flipped.sum()), **detection_metrics(flipped, score, flag),
                             **(calibration_metrics(data.labels, probs) if probs is not None else {}),
                             "seconds": float(seconds), "peak_rss_mb": float(rss)})
                progress(_row_line(rows[-1]))  # as it comes: a long benchmark stopped early keeps its figures
                if method.group == "auto" or method.rule == "cleanlab_baseline":
                    suspects.append({"noise": setting, "seed": seed, "method": method.name,
                                     **_unplanted_suspects(score, flipped, conflicts)})
    seconds = {name: float(np.mean(v)) for name, v in sources.seconds.items()}
    return {"rows": pd.DataFrame(rows), "suspects": pd.DataFrame(suspects), "seconds": seconds}


def _row_line(row: dict) -> str:
    shown = [("AP", "average_precision"), ("R@2%", "recall_at_2pct"), ("R@5%", "recall_at_5pct"),
             ("acc.", "accuracy"), ("ECE", "ece")]
    figures = ", ".join(f"{name} {row[key]:.3f}" for name, key in shown if key in row)
    return (f"{row['noise']} seed {row['seed']}: {row['method']}: {figures}, {row['seconds']:.0f} s, "
            f"peak RSS {row['peak_rss_mb']:.0f} MB")


def _check_noise(noise) -> None:
    bad = [s for s in noise if s not in NOISE_SETTINGS]
    if bad:
        raise OptionError(f"The 'noise' option must be among {', '.join(NOISE_SETTINGS)}. Got {bad[0]!r} instead.")


def bench(*, data: str | None = None, text_column: str | None = None, label_column: str | None = None,
          limit: int | None = None, noise=("uniform10", "classcond10"), seeds=(0,), methods=None, folds: int = 5,
          epochs: float | None = None, max_length: int | None = None, truncation: str | None = None,
          cache_dir: str | None = "reports/.bench-cache", out: str | None = None, quiet: bool = False,
          command: str = "") -> str:
    """The `auditor bench` command: load, subset, run, write; returns the Markdown summary.

    `data` as for `auditor run` (default: the shipped emotion split), its labels taken as clean;
    `methods`: groups or names (`select_methods`); `cache_dir` None: no cache; `out`: the results folder.
    """
    import platform
    from datetime import datetime

    _check_noise(noise)
    from ..config import DataConfig, RunConfig, TrainConfig
    from ..device import device
    from ..data import load_data
    from ..pipeline import Progress

    if limit is not None and limit < 10 * folds:
        raise OptionError(f"The 'limit' option must be an int >= {10 * folds}. Got {limit} instead.")
    cfg = DataConfig(text_column=text_column, label_column=label_column,
                     **({"source": data} if data else {}))
    train_cfg = TrainConfig(epochs=epochs, max_length=max_length,
                            **({"truncation": truncation} if truncation else {}))
    RunConfig(train=train_cfg)  # validated as for 'run', before the data is read
    data = stratified_subset(load_data(cfg, min_per_class=folds), limit)
    methods = select_methods(methods, finetune=device() == "cuda")
    started = time.perf_counter()
    result = run_benchmark(data, noise=tuple(noise), seeds=tuple(seeds), methods=methods,
                           folds=folds, train_cfg=train_cfg, cache_dir=cache_dir,
                           progress=Progress(quiet))
    info = {"command": command, "data": data.source, "rows": len(data), "noise": list(noise),
            "seeds": list(seeds), "folds": folds, "methods": [m.name for m in methods],
            "date": datetime.now().isoformat(timespec="seconds"), "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(), "cuda": device() == "cuda",
            "wall_seconds": round(time.perf_counter() - started, 1)}
    out = Path(out) if out else Path("reports") / f"bench-{datetime.now():%Y%m%d-%H%M%S}"
    markdown = write_results(out, result, info)
    return markdown + f"\nWritten to {out}/ (results.csv, summary.csv, summary.md, suspects.csv, bench.json)\n"
