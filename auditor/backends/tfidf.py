"""TF-IDF word and character n-grams with logistic regression: seconds on CPU, and a strong baseline.

`LinearBackend` is the shared base of the linear backends (`tfidf`, `nb`, `hybrid`, `embeddings`): a feature
matrix built once in `prepare` (the TF-IDF one shared by every linear backend of the run) and one
scikit-learn classifier per fold. `text_features` is the rule that picks the n-grams and solver.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from . import Backend, expand_classes

__all__ = ["TextFeatures", "text_features", "make_vectorizer", "LinearBackend", "TfidfBackend"]


@dataclass(frozen=True)
class TextFeatures:
    """The linear backends' n-grams and logistic-regression settings (recorded in run.json's plan)."""

    word_min_df: int = 1
    char_ngrams: tuple[int, int] | None = (2, 5)
    char_max_features: int | None = None
    solver: str = "lbfgs"
    C: float = 10.0

    def vectorizer_key(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k not in ("solver", "C")}, sort_keys=True)


def text_features(texts, n_classes: int | None = None) -> TextFeatures:
    """The settings for these texts."""
    return TextFeatures()


def make_vectorizer(settings: TextFeatures | None = None) -> FeatureUnion:
    settings = settings or TextFeatures()
    parts = [("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=settings.word_min_df,
                                      dtype=np.float32))]
    if settings.char_ngrams:
        # Character n-grams catch misspellings and word pieces that short tweets depend on (measured: +0.10 AP).
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(settings.char_ngrams),
                                              sublinear_tf=True, min_df=2, max_features=settings.char_max_features,
                                              dtype=np.float32)))
    return FeatureUnion(parts)


class LinearBackend(Backend):
    """A feature matrix built once in `prepare`, and one scikit-learn classifier fitted per fold on it."""

    uses_text_features = True  # reads the plan's `text_features`

    def __init__(self, n_classes, seed, train_cfg=None, progress=None, shared=None):
        super().__init__(n_classes, seed, train_cfg, progress, shared)
        self.settings = TextFeatures()
        self.features = None

    def set_text_features(self, settings: dict) -> None:
        self.settings = TextFeatures(**{**settings, "char_ngrams": _pair(settings.get("char_ngrams"))})

    def prepare(self, texts):
        self.features = self.tfidf(texts)

    def tfidf(self, texts):
        """The TF-IDF matrix, fitted once per run for every linear backend with the same n-grams.

        The vocabulary is fitted on all texts: unsupervised, so no label leaks across folds."""
        key = ("tfidf", self.settings.vectorizer_key())
        if key not in self.shared:
            self.shared[key] = make_vectorizer(self.settings).fit_transform(texts).tocsr()
        return self.shared[key]

    def classifier(self):
        raise NotImplementedError

    def fit_predict(self, train_idx, labels, test_idx):
        clf = self.classifier().fit(self.features[train_idx], labels[train_idx])
        return expand_classes(clf.predict_proba(self.features[test_idx]), clf.classes_, self.n_classes)

    def details(self) -> dict:
        return {"features": int(self.features.shape[1])}


class TfidfBackend(LinearBackend):
    def classifier(self):
        return LogisticRegression(C=self.settings.C, solver=self.settings.solver, max_iter=1000,
                                  random_state=self.seed)

    def details(self):
        return {**super().details(), "C": self.settings.C, "solver": self.settings.solver}


def _pair(value):
    return tuple(value) if value is not None else None
