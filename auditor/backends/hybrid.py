"""TF-IDF n-grams and frozen sentence embeddings as one feature set, one logistic regression per fold.

One model that weighs both views beats averaging the two models' probabilities (BENCHMARKS.md:
on emotion it finds planted flips better than `tfidf` alone, most of all class-conditional ones).
"""

from __future__ import annotations

from scipy import sparse

from .embeddings import EmbeddingsBackend, encode
from .tfidf import TfidfBackend


class HybridBackend(TfidfBackend):
    yields_embeddings = True
    runs_on_device = True  # the sentence encoder
    caches_prepared = True
    prepared_arrays = EmbeddingsBackend.prepared_arrays
    restore = EmbeddingsBackend.restore

    def prepare(self, texts):
        if self.embeddings is None:
            self.embeddings = encode(self.train_cfg.model, texts, show_progress=self.show_progress)
        # Unit-norm embeddings sit beside the two unit-norm TF-IDF blocks without rescaling.
        self.features = sparse.hstack([self.tfidf(texts), sparse.csr_matrix(self.embeddings)]).tocsr()

    def details(self):
        return {"model": self.train_cfg.model, **super().details()}
