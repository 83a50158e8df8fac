"""TF-IDF n-grams and frozen sentence embeddings as one feature set, one logistic regression per fold.

One model that weighs both views beats averaging the two models' probabilities (BENCHMARKS.md:
on emotion it finds planted flips better than `tfidf` alone, most of all class-conditional ones).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from . import expand_classes
from .embeddings import encode
from .tfidf import make_vectorizer


class HybridBackend:
    def __init__(self, n_classes: int, seed: int, model: str, progress=None, C: float = 10.0):
        self.n_classes, self.seed, self.model, self.C = n_classes, seed, model, C
        self.show_progress = progress is not None and getattr(progress, "bars", False)
        self.embeddings = None
        self.features = None

    def prepare(self, texts):
        if self.embeddings is None:
            self.embeddings = encode(self.model, texts, show_progress=self.show_progress)
        # Unit-norm embeddings sit beside the two unit-norm TF-IDF blocks without rescaling.
        tfidf = make_vectorizer().fit_transform(texts)
        self.features = sparse.hstack([tfidf, sparse.csr_matrix(self.embeddings)]).tocsr()

    def prepared_arrays(self) -> dict:
        """The embeddings, cached so that a resumed run does not encode again."""
        return {"embeddings": self.embeddings}

    def restore(self, arrays: dict) -> None:
        self.embeddings = arrays["embeddings"]

    def fit_predict(self, train_idx, labels, test_idx):
        clf = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        clf.fit(self.features[train_idx], labels[train_idx])
        return expand_classes(clf.predict_proba(self.features[test_idx]), clf.classes_, self.n_classes)

    def details(self):
        return {"model": self.model, "features": int(self.features.shape[1]), "C": self.C}
