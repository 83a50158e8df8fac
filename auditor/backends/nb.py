"""Complement naive Bayes on the `tfidf` backend's word and character n-gram features.

Alone it is about as good a detector as the logistic regression and takes seconds; averaged with
`tfidf` (`--method tfidf+nb`) or `hybrid` it beats both, because the two models err on different
rows (BENCHMARKS.md, detection benchmark). In `tfidf+nb` both read one TF-IDF matrix.
"""

from __future__ import annotations

from sklearn.naive_bayes import ComplementNB

from .tfidf import LinearBackend


class NaiveBayesBackend(LinearBackend):
    def classifier(self):
        return ComplementNB(alpha=self.settings.nb_alpha)

    def details(self):
        return {**super().details(), "alpha": self.settings.nb_alpha}
