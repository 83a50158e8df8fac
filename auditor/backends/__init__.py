"""Backends turn texts and labels into out-of-sample class probabilities.

Each backend is a class with `prepare(texts)` (work shared by all folds: embeddings, tokenisation,
TF-IDF vocabulary) and `fit_predict(train_idx, labels, test_idx)` (train on some rows, predict others).
`out_of_sample` runs the k-fold loop, so every row's probabilities come from a model that never saw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold

__all__ = ["BackendOutput", "fold_assignment", "make_backend", "out_of_sample", "train_and_predict", "resolve_method"]


@dataclass
class BackendOutput:
    pred_probs: np.ndarray
    folds: np.ndarray
    embeddings: np.ndarray | None = None
    details: dict = field(default_factory=dict)
    dynamics: object | None = None  # a DataFrame of training-dynamics records (finetune backend only)


def fold_assignment(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Stratified, seeded fold number per row (saved with the run so it can be repeated)."""
    assignment = np.empty(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        assignment[test] = fold
    return assignment


def resolve_method(methods: tuple[str, ...]) -> tuple[str, ...]:
    """'auto': fine-tune on a CUDA GPU, else the CPU combination the detection benchmark measured best.

    On CPU that is the mean of `tfidf` (logistic regression) and `nb` (complement naive Bayes) on the
    same n-grams: AP 0.897 against 0.877 for `tfidf` alone on emotion (16,000 rows, 10% uniform planted
    flips, 3 seeds) and 0.846 against 0.803 at class-conditional noise, for a few seconds more; adding
    sentence embeddings was no better and 2-3x slower. On a GPU, `finetune+tfidf`: 0.973 on the full split
    (`finetune` alone 0.975, within one seed's noise), and far above `finetune` alone on small data
    (0.715 vs 0.471 at 2,000 rows). Figures: BENCHMARKS.md, "Detection".
    """
    if methods != ("auto",):
        return methods
    import torch

    return ("finetune", "tfidf") if torch.cuda.is_available() else ("tfidf", "nb")


def make_backend(name: str, n_classes: int, train_cfg, seed: int, progress=None):
    if name == "tfidf":
        from .tfidf import TfidfBackend

        return TfidfBackend(n_classes, seed)
    if name == "nb":
        from .nb import NaiveBayesBackend

        return NaiveBayesBackend(n_classes, seed)
    if name == "hybrid":
        from .hybrid import HybridBackend

        return HybridBackend(n_classes, seed, train_cfg.model, progress)
    if name == "embeddings":
        from .embeddings import EmbeddingsBackend

        return EmbeddingsBackend(n_classes, seed, train_cfg.model, progress)
    if name == "finetune":
        from .finetune import FinetuneBackend

        return FinetuneBackend(n_classes, seed, train_cfg, progress)
    raise ValueError(f"unknown backend {name!r}")


def out_of_sample(
    texts, labels, n_classes, methods, folds, seed, train_cfg, progress=None, fold_cache=None
) -> BackendOutput:
    """k-fold out-of-sample probabilities, averaged over the given backends.

    `fold_cache` (an `auditor.resume.FoldCache`) keeps each finished fold, and supplies the folds an
    interrupted run already finished.
    """
    assignment = fold_assignment(labels, folds, seed)
    splits = [(np.flatnonzero(assignment != f), np.flatnonzero(assignment == f)) for f in range(folds)]
    return _run_backends(texts, labels, n_classes, methods, splits, assignment, seed, train_cfg, progress, fold_cache)


def train_and_predict(
    train_texts, train_labels, texts, labels, n_classes, methods, seed, train_cfg, progress=None, fold_cache=None
):
    """Train once on other data and predict `texts` (the book's train-then-score-validation set-up)."""
    all_texts = list(train_texts) + list(texts)
    all_labels = np.concatenate([np.asarray(train_labels), np.asarray(labels)])
    n_train = len(train_texts)
    splits = [(np.arange(n_train), np.arange(n_train, len(all_texts)))]
    out = _run_backends(
        all_texts, all_labels, n_classes, methods, splits, None, seed, train_cfg, progress, fold_cache
    )
    out.pred_probs = out.pred_probs[n_train:]
    if out.embeddings is not None:
        out.embeddings = out.embeddings[n_train:]
    out.folds = np.full(len(texts), -1, dtype=np.int64)
    out.dynamics = None  # recorded on the training data, not on the rows audited
    return out


def _run_backends(texts, labels, n_classes, methods, splits, assignment, seed, train_cfg, progress, fold_cache=None):
    probs, details, embeddings, dynamics = [], {}, None, None
    for name in methods:
        backend = make_backend(name, n_classes, train_cfg, seed, progress)
        _prepare(backend, name, texts, fold_cache)
        result = np.zeros((len(texts), n_classes))
        cached = []
        if hasattr(backend, "plan"):  # a backend that can train several folds at once (finetune across GPUs)
            backend.plan(splits)
        for fold, (train_idx, test_idx) in enumerate(splits):
            saved = fold_cache.get(name, f"fold-{fold}") if fold_cache is not None else None
            if saved is not None and saved["probs"].shape == (len(test_idx), n_classes):
                result[test_idx] = saved.pop("probs")
                if hasattr(backend, "restore_fold"):
                    backend.restore_fold(fold, saved)
                cached.append(fold)
                continue
            if progress:
                progress(f"{name}: fold {fold + 1}/{len(splits)}")
            result[test_idx] = backend.fit_predict(train_idx, labels, test_idx)
            if fold_cache is not None:
                extra = backend.fold_arrays(fold) if hasattr(backend, "fold_arrays") else {}
                fold_cache.put(name, f"fold-{fold}", probs=result[test_idx], **extra)
        if cached and progress:
            progress(f"{name}: folds {', '.join(str(f + 1) for f in cached)} taken from the interrupted run")
        probs.append(result)
        details[name] = dict(backend.details(), **({"resumed_folds": cached} if cached else {}))
        if getattr(backend, "embeddings", None) is not None:
            embeddings = backend.embeddings
        if getattr(backend, "dynamics", None) is not None:
            dynamics = backend.dynamics.table()
    pred_probs = normalize_probs(np.mean(probs, axis=0))
    folds_out = assignment if assignment is not None else np.zeros(len(texts), dtype=np.int64)
    return BackendOutput(pred_probs=pred_probs, folds=folds_out, embeddings=embeddings, details=details,
                         dynamics=dynamics)


def _prepare(backend, name, texts, fold_cache) -> None:
    """Shared work before the folds. A backend with `prepared_arrays`/`restore` (embeddings) has its
    costly part cached; restored, its `prepare` does only the rest."""
    cacheable = fold_cache is not None and hasattr(backend, "restore")
    saved = fold_cache.get(name, "prepared") if cacheable else None
    if saved is not None:
        backend.restore(saved)
    backend.prepare(list(texts))
    if cacheable and saved is None:
        fold_cache.put(name, "prepared", **backend.prepared_arrays())


def normalize_probs(probs: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows sum to 1, no exact zeros (a class absent from a training fold would give log(0))."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), eps, None)
    return probs / probs.sum(axis=1, keepdims=True)


def expand_classes(probs: np.ndarray, seen_classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Put a classifier's columns (only the classes it saw) into the full class order."""
    full = np.zeros((probs.shape[0], n_classes))
    full[:, np.asarray(seen_classes, dtype=np.int64)] = probs
    return full
