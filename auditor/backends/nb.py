"""Complement naive Bayes on the `tfidf` backend's word and character n-gram features.

Alone it is about as good a detector as the logistic regression and takes seconds; averaged with
`tfidf` (`--method tfidf+nb`) or `hybrid` it beats both, because the two models err on different
rows (BENCHMARKS.md, detection benchmark). In `tfidf+nb` both read one TF-IDF matrix.
"""

from __future__ import annotations

from sklearn.naive_bayes import ComplementNB

from .tfidf import LinearBackend


class NaiveBayesBackend(LinearBackend):
    cleaning = False  # in the cleaned pass, which may smooth less (`TextFeatures.cleaned_nb_alpha`)

    def classifier(self):
        return ComplementNB(alpha=self._alpha())

    def begin_cleaned_pass(self):
        self.cleaning = True

    def details(self):
        cleaned = self.settings.cleaned_nb_alpha
        return {**super().details(), "alpha": self.settings.nb_alpha,
                **({"cleaned_pass_alpha": cleaned} if cleaned is not None else {})}

    def _alpha(self) -> float:
        s = self.settings
        return s.cleaned_nb_alpha if self.cleaning and s.cleaned_nb_alpha is not None else s.nb_alpha
