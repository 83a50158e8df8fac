"""TF-IDF word and character n-grams with logistic regression: seconds on CPU, and a strong baseline.

`LinearBackend` is the shared base of the linear backends (`tfidf`, `nb`, `hybrid`, `embeddings`): a feature
matrix built once in `prepare` (the TF-IDF one shared by every linear backend of the run) and one
scikit-learn classifier per fold. `text_features` is the rule that picks the n-grams and solver.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from .base import Backend, expand_classes

__all__ = ["TextFeatures", "text_features", "make_vectorizer", "LinearBackend", "TfidfBackend"]


SGD_ALPHA = 1e-5  # long texts' SGD regularisation (`text_features`)
# Naive Bayes smoothing (the `nb` backend), measured on emotion (4,000 and 16,000 rows): 0.3-0.5 best; 1.0
# (scikit-learn's default) lost half the average precision under class-conditional noise at 4,000 rows.
NB_ALPHA = 0.3
# Long texts from this many rows on: less smoothing for both members (`text_features`).
MANY_ROWS = 5_000
MANY_ROWS_SGD_ALPHA = 3e-6
MANY_ROWS_NB_ALPHA = 0.1
MANY_ROWS_CLEANED_NB_ALPHA = 0.01
# Long texts from this many rows on: word n-grams hashed into HASHED_WORD_FEATURES columns, not counted into a
# vocabulary (`text_features`).
HASHED_ABOVE_ROWS = 50_000
HASHED_WORD_FEATURES = 2**20


@dataclass(frozen=True)
class TextFeatures:
    """The linear backends' n-grams and logistic-regression settings (recorded in run.json's plan)."""

    word_min_df: int = 1
    char_ngrams: tuple[int, int] | None = (2, 5)
    char_max_features: int | None = None
    solver: str = "lbfgs"
    C: float | None = 10.0  # None with solver "sgd" (regularised by `sgd_alpha`)
    sgd_alpha: float = SGD_ALPHA  # with solver "sgd"
    word_hash_features: int | None = None  # word n-grams hashed into this many columns (None: a vocabulary)
    nb_alpha: float = NB_ALPHA  # the `nb` backend's smoothing
    cleaned_nb_alpha: float | None = None  # its smoothing in the cleaned pass (None: nb_alpha)
    median_chars: int | None = None  # what the rule saw

    def vectorizer_key(self) -> str:
        skip = ("solver", "C", "sgd_alpha", "nb_alpha", "cleaned_nb_alpha", "median_chars")
        return json.dumps({k: v for k, v in asdict(self).items() if k not in skip}, sort_keys=True)


# Texts up to this median length get character n-grams (tweets, titles, chat turns); longer ones do not.
SHORT_TEXT_CHARS = 400


def text_features(texts, n_classes: int | None = None) -> TextFeatures:
    """The n-grams and solver for these texts: one rule, on the median text length and the number of rows.

    - Short texts (median <= SHORT_TEXT_CHARS): word 1-2-grams and character 2-5-grams, multinomial
      logistic regression (lbfgs, C=10). Character n-grams catch the misspellings and word pieces tweets
      depend on (emotion: +0.10 AP).
    - Longer texts: word 1-2-grams seen in at least 2 texts (a quarter of the columns: words seen once
      carry nothing across folds), logistic loss fitted by SGD. On 2,000 20 Newsgroups posts, 10%
      class-conditional flips, averaged with naive Bayes: AP 0.846 (SGD) vs 0.831 (saga) in 0.4x saga's
      time. Building character 2-5-grams for 4,000 posts took 270 s against 10-30 s for word n-grams, and
      lbfgs on that many columns and 20 classes minutes per fold (BENCHMARKS.md, "CPU default on long
      documents"). SGD alpha 1e-5 is 1 / (C * rows) at C=10 and 10,000 rows.
    - Long texts and at least MANY_ROWS rows: less smoothing for both members, SGD alpha 3e-6 and naive
      Bayes alpha 0.1. On all 11,314 posts with 10% class-conditional flips (seed 0, with the cleaned pass
      of `backends.cleaned_pass`) the pair gave AP 0.949 against 0.940 at 1e-5/0.3 (alpha 3e-5 or naive
      Bayes alpha 1 were worse, modified-Huber loss much worse); on 2,000 posts it lost 0.01-0.03 at
      uniform flips, as less regularisation on fewer rows would (BENCHMARKS.md, "Cleaned second pass").
      The cleaned pass's naive Bayes smooths less again, alpha 0.01 (`cleaned_nb_alpha`): its training rows
      are those the first pass did not flag, and on all 11,314 posts (10 cleaned folds) it gained 0.003-0.006
      AP over 0.1 at class-conditional flips (seeds 0-2) and 0.001 at uniform ones (seed 2); in the first
      pass, whose flags decide what is left out, 0.03 lost 0.005-0.010 (BENCHMARKS.md, "Cleaned pass: 10
      folds, less smoothing").
    - Long texts and at least HASHED_ABOVE_ROWS rows: word n-grams hashed into 2^20 columns (those hit by
      at least 2 texts kept) instead of counted into a vocabulary. Building the vocabulary (every 1-2-gram
      seen, before `min_df` drops most) took 2.5 GB above the data for 100,000 synthetic posts of ~2,000
      characters and 919 MB for 30,000, hashing 284 MB for 30,000 (in half the time). Forced on 20news's
      11,314 posts, hashing cost 0.005 AP at 2^20 columns and 0.0003 at 2^22, whose naive Bayes and SGD
      weights (20 classes × 4 million columns, about 2 GB) would take the memory back (BENCHMARKS.md,
      "100,000 documents").
    """
    lengths = [len(t) for t in texts]
    median = int(np.median(lengths)) if lengths else 0
    if median <= SHORT_TEXT_CHARS:
        return TextFeatures(median_chars=median)
    many = len(lengths) >= MANY_ROWS
    hashed = HASHED_WORD_FEATURES if len(lengths) >= HASHED_ABOVE_ROWS else None
    return TextFeatures(word_min_df=2, char_ngrams=None, solver="sgd", C=None, word_hash_features=hashed,
                        sgd_alpha=MANY_ROWS_SGD_ALPHA if many else SGD_ALPHA,
                        nb_alpha=MANY_ROWS_NB_ALPHA if many else NB_ALPHA,
                        cleaned_nb_alpha=MANY_ROWS_CLEANED_NB_ALPHA if many else None, median_chars=median)


def make_vectorizer(settings: TextFeatures | None = None) -> FeatureUnion:
    settings = settings or TextFeatures()
    parts = [("word", _word_vectorizer(settings))]
    if settings.char_ngrams:
        # Character n-grams catch misspellings and word pieces that short tweets depend on (measured: +0.10 AP).
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(settings.char_ngrams),
                                              sublinear_tf=True, min_df=2, max_features=settings.char_max_features,
                                              dtype=np.float32)))
    return FeatureUnion(parts)


def _word_vectorizer(settings: TextFeatures):
    """Word 1-2-grams, sublinear TF-IDF, those in fewer than `word_min_df` texts left out."""
    if settings.word_hash_features is None:
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=settings.word_min_df, dtype=np.float32)
    hashing = HashingVectorizer(ngram_range=(1, 2), n_features=settings.word_hash_features, alternate_sign=False,
                                norm=None, dtype=np.float32)
    return make_pipeline(_Chunked(hashing), _FrequentColumns(settings.word_min_df),
                         TfidfTransformer(sublinear_tf=True))


class _Chunked(TransformerMixin, BaseEstimator):
    """A stateless vectoriser applied to `rows` texts at a time: its per-token temporaries stay small."""

    def __init__(self, vectorizer, rows: int = 10_000):
        self.vectorizer, self.rows = vectorizer, rows

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        texts = list(texts)
        parts = [self.vectorizer.transform(texts[i:i + self.rows]) for i in range(0, len(texts), self.rows)]
        return sparse.vstack(parts, format="csr") if parts else self.vectorizer.transform([])


class _FrequentColumns(TransformerMixin, BaseEstimator):
    """The columns non-zero in at least `min_df` rows (of the matrix it was fitted on), renumbered densely."""

    def __init__(self, min_df: int = 2):
        self.min_df = min_df

    def fit(self, matrix, y=None):
        df = np.bincount(sparse.csr_matrix(matrix).indices, minlength=matrix.shape[1])
        self.columns_ = np.flatnonzero(df >= self.min_df)
        return self

    def transform(self, matrix):
        return sparse.csr_matrix(matrix)[:, self.columns_]


class LinearBackend(Backend):
    """A feature matrix built once in `prepare`, and one scikit-learn classifier fitted per fold on it."""

    uses_text_features = True  # reads the plan's `text_features`

    @classmethod
    def refits_cheaply(cls, text_features):
        return True

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
    @classmethod
    def refits_cheaply(cls, text_features):
        # lbfgs on short texts' character n-grams takes most of a two-minute emotion run; SGD takes seconds.
        return (text_features or {}).get("solver") == "sgd"

    def classifier(self):
        s = self.settings
        if s.solver == "sgd":
            # Logistic loss by stochastic gradient descent, one-vs-rest: seconds where lbfgs on a long-text
            # vocabulary and 20 classes took minutes per fold. alpha = 1 / (C * rows) at C=10 and 10,000 rows.
            from sklearn.linear_model import SGDClassifier

            return SGDClassifier(loss="log_loss", alpha=s.sgd_alpha, max_iter=50, tol=1e-4, random_state=self.seed)
        return LogisticRegression(C=s.C, solver=s.solver, max_iter=1000, random_state=self.seed)

    def fit_predict(self, train_idx, labels, test_idx):
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            # SGD's last passes are cut at max_iter (see `classifier`); nothing for the user to act on.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().fit_predict(train_idx, labels, test_idx)

    def details(self):
        return {**super().details(), "C": self.settings.C, "solver": self.settings.solver}


def _pair(value):
    return tuple(value) if value is not None else None
