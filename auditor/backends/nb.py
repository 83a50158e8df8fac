"""Complement naive Bayes on the `tfidf` backend's word and character n-gram features.

Alone it is about as good a detector as the logistic regression and takes seconds; averaged with
`tfidf` (`--method tfidf+nb`) or `hybrid` it beats both, because the two models err on different
rows (BENCHMARKS.md, detection benchmark). In `tfidf+nb` both read one TF-IDF matrix.
"""

from __future__ import annotations

from sklearn.naive_bayes import ComplementNB

from .tfidf import LinearBackend

# Smoothing measured on emotion (4,000 and 16,000 rows): 0.3-0.5 best; 1.0 (sklearn's default) lost
# half the average precision under class-conditional noise at 4,000 rows.
ALPHA = 0.3


class NaiveBayesBackend(LinearBackend):
    alpha = ALPHA

    def classifier(self):
        return ComplementNB(alpha=self.alpha)

    def details(self):
        return {**super().details(), "alpha": self.alpha}
