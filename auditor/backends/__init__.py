"""Backends turn texts and labels into out-of-sample class probabilities.

Each backend is a `Backend` subclass with `prepare(texts)` (work shared by all folds: embeddings,
tokenisation, TF-IDF vocabulary) and `fit_predict(train_idx, labels, test_idx)` (train on some rows,
predict others), registered by name in `REGISTRY`. `make_plan` resolves `--method` (and 'auto') once into
a frozen `Plan` that run.json records; `out_of_sample` runs the k-fold loop over the plan's backends, so
every row's probabilities come from a model that never saw it.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass

import numpy as np

from .base import Backend, BackendOutput, expand_classes, normalize_probs  # what the backend modules import
from .registry import NAMES, REGISTRY  # one entry per backend; config.BACKENDS reads it too

__all__ = ["REGISTRY", "NAMES", "Backend", "BackendOutput", "Plan", "cleaned_pass", "cleaned_folds", "fold_fits",
           "fold_assignment", "fold_splits", "make_backend", "make_plan", "plan_device", "resolve_backends",
           "out_of_sample", "run_folds", "train_and_predict", "resolve_methods", "normalize_probs", "expand_classes"]


@dataclass(frozen=True)
class Plan:
    """How this run gets its probabilities and what it scores, resolved once (method string, 'auto',
    data-dependent settings, signals, device) and recorded in run.json; every stage reads it instead of
    parsing `--method` or `--signals` again. Run folders written before `signals` and `device` were
    recorded read with the defaults."""

    method: str  # as given: 'auto' or names joined by '+'
    backends: tuple[str, ...]  # what runs, probabilities averaged in this order
    text_features: dict | None = None  # the linear backends' settings (`tfidf.text_features`), None if unused
    cleaned_pass: bool = False  # refit every fold without the rows the first pass flagged (`cleaned_pass`)
    signals: tuple[str, ...] = ()  # the scorers to run (`pipeline.resolve_signals`), set by the pipeline
    device: str = "cpu"  # where the models run ("cuda" or "cpu"; "cpu" when no backend uses torch)

    def as_dict(self) -> dict:
        return asdict(self)


def fold_assignment(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Stratified, seeded fold number per row (saved with the run so it can be repeated)."""
    from sklearn.model_selection import StratifiedKFold

    assignment = np.empty(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        assignment[test] = fold
    return assignment


def resolve_methods(method: str) -> tuple[str, ...]:
    """The backends `--method` names ('auto' resolved for this machine); the one place it is parsed."""
    from ..config import parse_method

    return resolve_backends(parse_method(method))[0]


def plan_device(methods: tuple[str, ...], lookup=None) -> str:
    """The device a plan's models run on, asked once: torch is imported only where 'auto' must choose or a
    backend `runs_on_device` (`lookup`: name → backend class, default this package's registry)."""
    lookup = lookup or backend_class
    if methods == ("auto",) or any(lookup(n).runs_on_device for n in methods):
        from ..device import device

        return device()
    return "cpu"


def make_plan(method: str, texts=None, n_classes: int | None = None, k_fold: bool = True) -> Plan:
    """`method` resolved, with the linear backends' settings chosen from the texts when one runs.

    `k_fold`: the probabilities come from k-fold cross-fitting (False with --train-data)."""
    from ..config import parse_method

    names, device = resolve_backends(parse_method(method))
    features = None
    if texts is not None and any(backend_class(n).uses_text_features for n in names):
        from .tfidf import text_features

        features = asdict(text_features(texts, n_classes))
    rows = len(texts) if texts is not None else 0
    return Plan(method=method, backends=names, text_features=features,
                cleaned_pass=cleaned_pass(names, k_fold, features, rows), device=device)


# Below this many rows the first pass's flags are too imprecise to leave out (BENCHMARKS.md).
CLEANED_PASS_MIN_ROWS = 2_000
CLEANED_PASS_FOLDS = 10  # `cleaned_folds`


def cleaned_pass(names: tuple[str, ...], k_fold: bool, text_features: dict | None = None, rows: int = 0) -> bool:
    """Whether the k-fold loop runs twice: the second time each fold's model trains without the rows the
    first pass's averaged probabilities flagged (cleanlab's `find_label_issues`), and those second-pass
    probabilities are the run's.

    Wrong labels in a training fold pull the model towards them, most of all when they follow the classes
    people confuse: on all 11,314 20 Newsgroups posts with 10% class-conditional flips (5-fold, seed 0)
    the second pass raised the CPU default's AP from 0.933 to 0.949 (seeds 0 and 2; 0.948 for seed 1).
    On 1,000 posts, where cleanlab flags about 18% of the rows at precision 0.4-0.5, it lost up to 0.04,
    so it needs CLEANED_PASS_MIN_ROWS rows (on 2,000 posts it gained 0.02 at class-conditional flips).
    It doubles the fitting, so it runs only where every backend refits in seconds with the plan's
    settings (SGD on long texts, naive Bayes, embeddings; not lbfgs on short texts' character n-grams: on
    the 16,000 emotion tweets it gained +0.010 AP at class-conditional noise but would double a run of
    about two minutes) and the folds are the run's own (not --train-data, whose training rows are not
    audited). BENCHMARKS.md, "Cleaned second pass".
    """
    return k_fold and rows >= CLEANED_PASS_MIN_ROWS and all(backend_class(n).refits_cheaply(text_features)
                                                            for n in names)


def backend_class(name: str) -> type[Backend]:
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(NAMES)}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def resolve_backends(methods: tuple[str, ...], lookup=None, cpu_auto: tuple[str, ...] = ("tfidf", "nb")):
    """(the backends `methods` name, the device they run on): 'auto' resolved for this machine, the device
    "cpu" where no backend runs a torch model (`lookup`: name → backend class, default this package's
    registry; multi-label passes its own, and its `cpu_auto`).

    'auto': fine-tune on a CUDA GPU, else the CPU combination the detection benchmark measured best.

    On CPU that is the mean of `tfidf` (logistic regression) and `nb` (complement naive Bayes) on the
    same n-grams: AP 0.897 against 0.877 for `tfidf` alone on emotion (16,000 rows, 10% uniform planted
    flips, 3 seeds) and 0.846 against 0.803 at class-conditional noise, for a few seconds more; adding
    sentence embeddings was no better and 2-3x slower. On a GPU, `finetune+tfidf`: 0.973 on the full split
    (`finetune` alone 0.975, within one seed's noise), and far above `finetune` alone on small data
    (0.715 vs 0.471 at 2,000 rows). Figures: BENCHMARKS.md, "Detection".
    """
    lookup = lookup or backend_class
    device = plan_device(methods, lookup)
    if methods == ("auto",):
        methods = ("finetune", "tfidf") if device == "cuda" else cpu_auto
    if not any(lookup(n).runs_on_device for n in methods):  # 'auto' chose backends without torch
        device = "cpu"
    return methods, device


def make_backend(name: str, n_classes: int, train_cfg, seed: int, progress=None, shared: dict | None = None,
                 plan: Plan | None = None) -> Backend:
    cls = backend_class(name)
    backend = cls(n_classes, seed, train_cfg, progress, shared)
    if plan is not None and plan.text_features is not None and cls.uses_text_features:
        backend.set_text_features(plan.text_features)
    return backend


def out_of_sample(
    texts, labels, n_classes, plan, folds, seed, train_cfg, progress=None, fold_cache=None
) -> BackendOutput:
    """k-fold out-of-sample probabilities, averaged over the plan's backends (a `Plan`, or backend names).

    `fold_cache` (an `auditor.resume.FoldCache`) keeps each finished fold, and supplies the folds an
    interrupted run already finished.
    """
    plan = _as_plan(plan, texts, n_classes)
    assignment = fold_assignment(labels, folds, seed)
    splits = fold_splits(assignment, folds)
    return _run_backends(texts, labels, n_classes, plan, splits, assignment, seed, train_cfg, progress, fold_cache)


def fold_splits(assignment: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, held-out rows) of each fold of a fold assignment."""
    return [(np.flatnonzero(assignment != f), np.flatnonzero(assignment == f)) for f in range(folds)]


def train_and_predict(
    train_texts, train_labels, texts, labels, n_classes, plan, seed, train_cfg, progress=None, fold_cache=None
):
    """Train once on other data and predict `texts` (the book's train-then-score-validation set-up)."""
    all_texts = list(train_texts) + list(texts)
    all_labels = np.concatenate([np.asarray(train_labels), np.asarray(labels)])
    n_train = len(train_texts)
    splits = [(np.arange(n_train), np.arange(n_train, len(all_texts)))]
    plan = _as_plan(plan, all_texts, n_classes, k_fold=False)
    out = _run_backends(all_texts, all_labels, n_classes, plan, splits, None, seed, train_cfg, progress, fold_cache)
    out.pred_probs = out.pred_probs[n_train:]
    if out.embeddings is not None:
        out.embeddings = out.embeddings[n_train:]
    out.folds = np.full(len(texts), -1, dtype=np.int64)
    out.dynamics = None  # recorded on the training data, not on the rows audited
    return out


def _as_plan(plan, texts, n_classes, k_fold: bool = True) -> Plan:
    return plan if isinstance(plan, Plan) else make_plan("+".join(plan), texts, n_classes, k_fold)


def _run_backends(texts, labels, n_classes, plan, splits, assignment, seed, train_cfg, progress, fold_cache=None):
    probs, details, embeddings, dynamics, shared, kept = [], {}, None, None, {}, []
    for name in plan.backends:
        backend = make_backend(name, n_classes, train_cfg, seed, progress, shared, plan)
        _prepare(backend, name, texts, fold_cache)
        backend.plan(splits)  # a backend that can train several folds at once (finetune across GPUs) keeps them
        result, cached = run_folds(backend, name, labels, n_classes, splits, progress, fold_cache, "fold")
        probs.append(result)
        details[name] = dict(backend.details(), **({"resumed_folds": cached} if cached else {}))
        if backend.yields_embeddings and backend.embeddings is not None:
            embeddings = backend.embeddings
        if backend.yields_dynamics and backend.dynamics is not None:
            dynamics = backend.dynamics.table()
        if plan.cleaned_pass:
            kept.append((name, backend))
    pred_probs = normalize_probs(np.mean(probs, axis=0))
    if plan.cleaned_pass:
        pred_probs, assignment, details["cleaned_pass"] = _cleaned_pass(
            kept, labels, n_classes, cleaned_folds(len(splits)), seed, pred_probs, progress, fold_cache)
    folds_out = assignment if assignment is not None else np.zeros(len(texts), dtype=np.int64)
    return BackendOutput(pred_probs=pred_probs, folds=folds_out, embeddings=embeddings, details=details,
                         dynamics=dynamics)


def run_folds(backend, name, labels, n_classes, splits, progress, fold_cache, key="fold"):
    """(held-out probabilities of every fold, folds taken from `fold_cache`): each fold trained and cached
    as `{key}-{fold}`, or restored from the cache with its per-fold arrays (single- and multi-label)."""
    result = np.zeros((len(labels), n_classes))
    cached = []
    for fold, (train_idx, test_idx) in enumerate(splits):
        saved = fold_cache.get(name, f"{key}-{fold}") if fold_cache is not None else None
        if saved is not None and saved["probs"].shape == (len(test_idx), n_classes):
            result[test_idx] = saved.pop("probs")
            backend.restore_fold(fold, saved)
            cached.append(fold)
            continue
        if progress:
            progress(f"{name}: {key.replace('-', ' ')} {fold + 1}/{len(splits)}")
        result[test_idx] = backend.fit_predict(train_idx, labels, test_idx)
        if fold_cache is not None:
            fold_cache.put(name, f"{key}-{fold}", probs=result[test_idx], **backend.fold_arrays(fold))
    if cached and progress:
        progress(f"{name}: {key.replace('-', ' ')}s {', '.join(str(f + 1) for f in cached)} "
                 "taken from the interrupted run")
    return result, cached


def _cleaned_pass(kept, labels, n_classes, folds, seed, first, progress, fold_cache):
    """The folds again, `folds` of them, each model trained without the rows `first` flagged (`cleaned_pass`):
    (probabilities, the rows' folds, what run.json records)."""
    from ..scoring.label_quality import find_issues

    flagged = find_issues(labels, first)
    assignment = fold_assignment(labels, folds, seed)
    cleaned = []
    for train_idx, test_idx in fold_splits(assignment, folds):
        kept_rows = train_idx[~flagged[train_idx]]
        # A fold left with one class cannot train a classifier: it keeps its rows as they were.
        cleaned.append((kept_rows if len(np.unique(labels[kept_rows])) > 1 else train_idx, test_idx))
    probs = []
    for name, backend in kept:
        backend.begin_cleaned_pass()
        probs.append(run_folds(backend, name, labels, n_classes, cleaned, progress, fold_cache, "cleaned-fold")[0])
    return normalize_probs(np.mean(probs, axis=0)), assignment, {"rows_left_out": int(flagged.sum()), "folds": folds}


def cleaned_folds(folds: int) -> int:
    """The cleaned pass's folds: the run's, at least CLEANED_PASS_FOLDS.

    Each model then trains on 90% of the rows instead of 80%. On all 11,314 20 Newsgroups posts with 10%
    class-conditional flips, 10 cleaned folds instead of 5 raised AP by 0.002-0.003 (seeds 0-2; BENCHMARKS.md,
    "Cleaned pass: 10 folds, less smoothing"), which took the margin over the ten-line baseline past +0.05 on
    every seed, for half again the fitting of a run.
    """
    return max(folds, CLEANED_PASS_FOLDS)


def fold_fits(plan: Plan, folds: int) -> int:
    """How many folds each of the plan's backends fits in a k-fold run (the cleaned pass's included)."""
    return folds + (cleaned_folds(folds) if plan.cleaned_pass else 0)


def _prepare(backend, name, texts, fold_cache) -> None:
    """Shared work before the folds. A backend that `caches_prepared` (embeddings) has its costly part
    cached; restored, its `prepare` does only the rest."""
    cacheable = fold_cache is not None and backend.caches_prepared
    saved = fold_cache.get(name, "prepared") if cacheable else None
    if saved is not None:
        backend.restore(saved)
    backend.prepare(list(texts))
    if cacheable and saved is None:
        fold_cache.put(name, "prepared", **backend.prepared_arrays())
