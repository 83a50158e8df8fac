"""Out-of-sample per-label probabilities: k-fold, folds stratified on the label sets.

`tfidf` (the CPU default): one-vs-rest logistic regression on the single-label backend's TF-IDF word and
character n-grams (`auditor.backends.tfidf.make_vectorizer`), fitted by SGD. On GoEmotions train
(43,410 rows, 326,206 features) liblinear took 13 s per label and fold (28 labels × 5 folds ≈ 30 min on
the shared 2 cores) for a held-out per-label AP of 0.505 (4 labels); SGD with the same log loss took
~1 s per label at 5 epochs for 0.497, so the audit fits in minutes. On 4,000 rows with 10% planted
changes (benchmarks/multilabel_goemotions.py, seed 0) the example-ranking AP was 0.261 for alpha 1e-5 and
5 epochs, 0.283 for 1e-4/10, 0.288 for 3e-5/10 (the default), 0.291 for 3e-5/20, and 0.299 for
liblinear at C=4 (about 10x slower). Further candidates on 3,000 rows, seeds 0 / 1 (baseline 0.248 / 0.250,
the default 0.293 / 0.260; BENCHMARKS.md): 20 epochs 0.298 / 0.264 and α 1e-5 at 20 epochs 0.296 / 0.266
(≤ +0.006 for twice the CPU time, so not taken); averaging with per-label MultinomialNB 0.281 / 0.247 and
ComplementNB 0.280 (seed 0), averaged SGD 0.242, class_weight="balanced" 0.198, three SGD seeds averaged
0.290 (all worse); averaging with liblinear LR C=4 0.312 (seed 0) at ~90x the SGD time.

`finetune`: the single-label `FinetuneBackend` with a multi-label head (`problem_type=
"multi_label_classification"`: BCE on sigmoid outputs), the same k-fold `Trainer` path.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np

from ..backends import fold_splits, run_folds
from ..backends.base import Backend

__all__ = ["ML_REGISTRY", "ML_METHODS", "multilabel_folds", "out_of_sample_multilabel",
           "train_and_predict_multilabel", "make_multilabel_backend", "multilabel_backend_class", "TfidfOneVsRest"]

# Multi-label backend name → "module:Class" in this package (`Backend` subclasses; finetune imported on use).
ML_REGISTRY: dict[str, str] = {
    "tfidf": "backend:TfidfOneVsRest",
    "finetune": "finetune:MultiLabelFinetune",
}
ML_METHODS = tuple(ML_REGISTRY)
_EPS = 1e-6


def multilabel_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Seeded fold number per row, stratified on each row's rarest label (a stand-in for iterative
    stratification): every label, rare ones first, is spread over the folds in proportion, which is what
    a per-label classifier needs; rows without labels form their own stratum."""
    from sklearn.model_selection import StratifiedKFold

    counts = labels.sum(axis=0)
    rarity = np.where(labels > 0, counts[None, :], np.iinfo(np.int64).max)
    key = np.where(labels.any(axis=1), rarity.argmin(axis=1), -1)
    assignment = np.empty(len(labels), dtype=np.int64)
    with warnings.catch_warnings():  # a stratum smaller than `folds` is spread as far as it goes
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for fold, (_, test) in enumerate(splitter.split(np.zeros(len(key)), key)):
            assignment[test] = fold
    return assignment


class TfidfOneVsRest(Backend):
    """One SGD-fitted logistic regression per label on shared TF-IDF features."""

    def __init__(self, n_classes: int, seed: int, train_cfg=None, progress=None, shared=None, class_names=None,
                 alpha: float = 3e-5, epochs: int = 10):
        super().__init__(n_classes, seed, train_cfg, progress, shared)
        self.alpha, self.epochs = alpha, epochs
        self.features = None

    def prepare(self, texts):
        from ..backends.tfidf import make_vectorizer

        # Unsupervised, so fitting the vocabulary on all texts leaks no label across folds.
        self.features = make_vectorizer().fit_transform(list(texts)).tocsr()

    def fit_predict(self, train_idx, labels, test_idx):
        from sklearn.linear_model import SGDClassifier

        x_train, x_test = self.features[train_idx], self.features[test_idx]
        probs = np.full((len(test_idx), self.n_classes), _EPS)
        for j in range(self.n_classes):
            y = labels[train_idx, j]
            if y.min() == y.max():  # a label absent (or everywhere) in this fold's training rows
                probs[:, j] = _EPS if y.max() == 0 else 1 - _EPS
                continue
            clf = SGDClassifier(loss="log_loss", alpha=self.alpha, max_iter=self.epochs, tol=None,
                                random_state=self.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning: the epoch count is the budget
                clf.fit(x_train, y)
            probs[:, j] = clf.predict_proba(x_test)[:, 1]
        return np.clip(probs, _EPS, 1 - _EPS)

    def details(self):
        return {"features": int(self.features.shape[1]), "alpha": self.alpha, "epochs": self.epochs,
                "classifier": "one-vs-rest SGD logistic regression"}


def multilabel_backend_class(name: str) -> type[Backend]:
    if name not in ML_REGISTRY:
        raise ValueError(f"unknown multi-label backend {name!r}; expected one of {', '.join(ML_METHODS)}")
    module, cls = ML_REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)


def make_multilabel_backend(name: str, n_classes: int, train_cfg, seed: int, progress=None,
                            class_names=None) -> Backend:
    return multilabel_backend_class(name)(n_classes, seed, train_cfg, progress, class_names=class_names)


def out_of_sample_multilabel(texts, labels, methods, folds, seed, train_cfg, progress=None, class_names=None,
                             fold_cache=None):
    """(n × k per-label probabilities averaged over `methods`, fold per row, details per backend, training
    dynamics records of `finetune` or None).

    `fold_cache` (an `auditor.resume.FoldCache`) keeps each finished fold (and its training dynamics) and
    supplies those an interrupted run already finished (--resume)."""
    labels = np.asarray(labels, dtype=np.int8)
    assignment = multilabel_folds(labels, folds, seed)
    splits = fold_splits(assignment, folds)
    probs, details, dynamics = _run_backends(texts, labels, methods, splits, seed, train_cfg, progress,
                                             class_names, fold_cache)
    return probs, assignment, details, dynamics


def train_and_predict_multilabel(train_texts, train_labels, texts, labels, methods, seed, train_cfg, progress=None,
                                 class_names=None, fold_cache=None):
    """Train once on other label sets (`--train-data`) and predict `texts`: as `out_of_sample_multilabel`,
    with one 'fold' whose training rows are the other data's (fold -1 per row, as single-label), and no
    training dynamics (they would describe the other data's rows)."""
    all_labels = np.concatenate([np.asarray(train_labels, dtype=np.int8), np.asarray(labels, dtype=np.int8)])
    n_train = len(train_texts)
    splits = [(np.arange(n_train), np.arange(n_train, len(all_labels)))]
    probs, details, _ = _run_backends(list(train_texts) + list(texts), all_labels, methods, splits, seed,
                                      train_cfg, progress, class_names, fold_cache)
    return probs[n_train:], np.full(len(texts), -1, dtype=np.int64), details, None


def _run_backends(texts, labels, methods, splits, seed, train_cfg, progress, class_names, fold_cache):
    probs, details, dynamics = [], {}, None
    for name in methods:
        backend = make_multilabel_backend(name, labels.shape[1], train_cfg, seed, progress, class_names)
        backend.prepare(list(texts))
        result, cached = run_folds(backend, name, labels, labels.shape[1], splits, progress, fold_cache)
        probs.append(result)
        details[name] = dict(backend.details(), **({"resumed_folds": cached} if cached else {}))
        if backend.yields_dynamics and backend.dynamics is not None:
            dynamics = backend.dynamics.table()
    return np.clip(np.mean(probs, axis=0), _EPS, 1 - _EPS), details, dynamics
