"""Complement naive Bayes on the `tfidf` backend's word and character n-gram features.

Alone it is about as good a detector as the logistic regression and takes seconds; averaged with
`tfidf` (`--method tfidf+nb`) or `hybrid` it beats both, because the two models err on different
rows (BENCHMARKS.md, detection benchmark).
"""

from __future__ import annotations

from sklearn.naive_bayes import ComplementNB

from . import expand_classes
from .tfidf import make_vectorizer

# Smoothing measured on emotion (4,000 and 16,000 rows): 0.3-0.5 best; 1.0 (sklearn's default) lost
# half the average precision under class-conditional noise at 4,000 rows.
ALPHA = 0.3


class NaiveBayesBackend:
    def __init__(self, n_classes: int, seed: int, alpha: float = ALPHA):
        self.n_classes, self.seed, self.alpha = n_classes, seed, alpha
        self.features = None

    def prepare(self, texts):
        self.features = make_vectorizer().fit_transform(texts).tocsr()

    def fit_predict(self, train_idx, labels, test_idx):
        clf = ComplementNB(alpha=self.alpha).fit(self.features[train_idx], labels[train_idx])
        return expand_classes(clf.predict_proba(self.features[test_idx]), clf.classes_, self.n_classes)

    def details(self):
        return {"features": int(self.features.shape[1]), "alpha": self.alpha}
