"""The CPU backends `hybrid` (TF-IDF + sentence-embedding features, one LR) and `nb` on small real data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from auditor import backends
from auditor.benchmark.noise import detection_metrics, flip_labels
from auditor.config import TrainConfig
from auditor.device import device
from conftest import EMOTION_TRAIN, easy_dataset


def test_hybrid_ranks_planted_flips_first_and_keeps_its_embeddings():
    frame = easy_dataset(n_per_class=30)
    labels = frame["label"].astype("category").cat.codes.to_numpy().astype(np.int64)
    noisy, flipped = flip_labels(labels, 0.1, 0, 3)
    out = backends.out_of_sample(frame["text"].tolist(), noisy, 3, ("hybrid",), 3, 0, TrainConfig())
    assert np.allclose(out.pred_probs.sum(axis=1), 1.0)
    assert out.embeddings is not None and out.embeddings.shape == (90, 384)
    score = 1 - out.pred_probs[np.arange(90), noisy]
    assert detection_metrics(flipped, score)["average_precision"] > 0.9
    assert out.details["hybrid"]["features"] > 384


def test_nb_ranks_planted_flips_first():
    frame = easy_dataset(n_per_class=30)
    labels = frame["label"].astype("category").cat.codes.to_numpy().astype(np.int64)
    noisy, flipped = flip_labels(labels, 0.1, 1, 3)
    out = backends.out_of_sample(frame["text"].tolist(), noisy, 3, ("tfidf", "nb"), 3, 0, TrainConfig())
    assert np.allclose(out.pred_probs.sum(axis=1), 1.0)
    assert out.details["nb"]["alpha"] == 0.3
    score = 1 - out.pred_probs[np.arange(90), noisy]
    assert detection_metrics(flipped, score)["average_precision"] > 0.9


def test_auto_on_cpu_is_the_benchmarked_default():
    if device() == "cuda":
        pytest.skip("checks the CPU default; this machine has a CUDA GPU")
    assert backends.resolve_methods("auto") == ("tfidf", "nb")


def test_registry_is_the_one_list_of_backends():
    from auditor.config import BACKENDS

    assert BACKENDS == backends.NAMES == tuple(backends.REGISTRY)
    for name in BACKENDS:
        cls = backends.backend_class(name)
        assert issubclass(cls, backends.Backend)
        assert isinstance(cls.yields_embeddings, bool) and isinstance(cls.caches_prepared, bool)
    assert backends.backend_class("finetune").yields_dynamics
    assert backends.backend_class("hybrid").yields_embeddings and not backends.backend_class("tfidf").yields_embeddings
    with pytest.raises(ValueError, match="unknown backend"):
        backends.backend_class("nope")


def test_backends_declare_their_interface_on_the_base_class():
    """What the fold loop asks of a backend is declared on `Backend`, so nothing is probed with hasattr:
    single- and multi-label backends alike."""
    from auditor.multilabel.backend import ML_METHODS, ML_REGISTRY, make_multilabel_backend

    assert backends.Backend.uses_text_features is False
    assert backends.Backend(2, 0).plan([]) is None
    assert [n for n in backends.NAMES if backends.backend_class(n).uses_text_features] == ["tfidf", "hybrid", "nb"]
    assert ML_METHODS == tuple(ML_REGISTRY) == ("tfidf", "finetune")
    backend = make_multilabel_backend("tfidf", 3, None, 0)
    assert isinstance(backend, backends.Backend) and not backend.yields_dynamics and backend.dynamics is None
    with pytest.raises(ValueError, match="unknown multi-label backend"):
        make_multilabel_backend("nb", 3, None, 0)


def test_plan_parses_the_method_once_and_round_trips():
    texts = ["good day"] * 5 + ["bad day"] * 5
    plan = backends.make_plan("tfidf+nb", texts, 2)
    assert plan.backends == ("tfidf", "nb") and plan.text_features is not None
    assert backends.Plan(**plan.as_dict()) == plan
    assert backends.make_plan("embeddings", texts, 2).text_features is None
    if device() == "cpu":
        assert plan.device == "cpu" and backends.make_plan("embeddings").device == "cpu"
    assert backends.make_plan("tfidf").device == "cpu"  # no torch model: torch is not asked


def test_tfidf_and_nb_share_one_feature_matrix():
    frame = easy_dataset(n_per_class=20)
    texts = frame["text"].tolist()
    shared = {}
    plan = backends.make_plan("tfidf+nb", texts, 3)
    a = backends.make_backend("tfidf", 3, TrainConfig(), 0, shared=shared, plan=plan)
    b = backends.make_backend("nb", 3, TrainConfig(), 0, shared=shared, plan=plan)
    a.prepare(texts)
    b.prepare(texts)
    assert a.features is b.features and len(shared) == 1


@pytest.mark.slow
@pytest.mark.ci_slow
def test_hybrid_beats_random_on_emotion_tweets():
    lines = EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:400]
    texts = [line.rsplit(";", 1)[0] for line in lines]
    names = sorted({line.rsplit(";", 1)[1] for line in lines})
    labels = np.array([names.index(line.rsplit(";", 1)[1]) for line in lines])
    noisy, flipped = flip_labels(labels, 0.1, 0, len(names))
    out = backends.out_of_sample(texts, noisy, len(names), ("hybrid",), 3, 0, TrainConfig())
    score = 1 - out.pred_probs[np.arange(len(texts)), noisy]
    # 400 short tweets are little to learn from; random ranking gives AP ≈ 0.10.
    assert detection_metrics(flipped, score)["average_precision"] > 0.2


def test_text_feature_rule_uses_char_ngrams_only_for_short_texts():
    from auditor.backends.tfidf import SHORT_TEXT_CHARS, text_features

    short = text_features(["i feel great today"] * 50)
    assert short.char_ngrams == (2, 5) and short.solver == "lbfgs" and short.median_chars == 18
    long = text_features(["word " * 100] * 50)  # 500 characters
    assert long.char_ngrams is None and long.word_min_df == 2 and long.median_chars == 500 > SHORT_TEXT_CHARS
    # The median decides: a few long texts among short ones do not switch it.
    assert text_features(["hi there"] * 40 + ["x" * 5000] * 10).char_ngrams == (2, 5)


def _long_noisy(n_per_class=30, flips=9):
    frame = easy_dataset(n_per_class=n_per_class)
    texts = [(t + " ") * 40 for t in frame["text"]]  # several hundred characters each: the long-text rule
    labels = frame["label"].map({"food": 0, "sport": 1, "tech": 2}).to_numpy()
    noisy, flipped = flip_labels(labels, flips / len(labels), 0, 3)
    return texts, noisy, flipped


def test_cleaned_pass_runs_where_folds_refit_in_seconds_on_enough_rows():
    rows = backends.CLEANED_PASS_MIN_ROWS
    long_texts = ["word " * 100] * rows
    short_texts = ["good day"] * rows
    assert backends.make_plan("auto", long_texts, 2).cleaned_pass  # SGD and naive Bayes
    assert not backends.make_plan("auto", long_texts[:-1], 2).cleaned_pass  # too few rows for precise flags
    assert not backends.make_plan("auto", short_texts, 2).cleaned_pass  # lbfgs on character n-grams
    assert backends.make_plan("nb", short_texts, 2).cleaned_pass
    assert not backends.make_plan("auto", long_texts, 2, k_fold=False).cleaned_pass  # --train-data
    assert not backends.make_plan("finetune+tfidf", long_texts, 2).cleaned_pass


def test_long_text_smoothing_follows_the_number_of_rows():
    from auditor.backends.tfidf import MANY_ROWS, text_features

    few, many = text_features(["word " * 100] * (MANY_ROWS - 1)), text_features(["word " * 100] * MANY_ROWS)
    assert (few.sgd_alpha, few.nb_alpha) == (1e-5, 0.3) and (many.sgd_alpha, many.nb_alpha) == (3e-6, 0.1)
    # The cleaned pass's naive Bayes smooths less again, on many rows only.
    assert few.cleaned_nb_alpha is None and many.cleaned_nb_alpha == 0.01
    assert text_features(["good day"] * MANY_ROWS).nb_alpha == 0.3  # short texts keep emotion's settings


def test_many_long_texts_hash_their_word_ngrams_into_the_same_features(monkeypatch):
    from auditor.backends import tfidf

    texts = ["the cat sat on the mat " * 30, "the dog sat " * 60, "a cat and a dog " * 40, "mat cat " * 90] * 3
    assert tfidf.text_features(texts).word_hash_features is None
    monkeypatch.setattr(tfidf, "HASHED_ABOVE_ROWS", len(texts))
    settings = tfidf.text_features(texts)
    assert settings.word_hash_features == tfidf.HASHED_WORD_FEATURES
    hashed = tfidf.make_vectorizer(settings).fit_transform(texts)
    counted = tfidf.make_vectorizer(dataclasses.replace(settings, word_hash_features=None)).fit_transform(texts)
    # The same columns (n-grams in at least 2 texts) and TF-IDF values; only their order differs.
    assert hashed.shape == counted.shape and hashed.dtype == np.float32
    np.testing.assert_allclose(np.sort(hashed.toarray(), axis=1), np.sort(counted.toarray(), axis=1), rtol=1e-6)
    # Hashed a few texts at a time (bounded temporaries), the matrix is the same.
    hashing = tfidf._word_vectorizer(settings).steps[0][1].vectorizer
    chunked = tfidf._Chunked(hashing, rows=5).transform(texts)
    assert (chunked != hashing.transform(texts)).nnz == 0 and chunked.shape[0] == len(texts)


def test_cleaned_pass_refits_each_fold_without_the_flagged_rows(tmp_path, monkeypatch):
    from sklearn.linear_model import SGDClassifier
    from sklearn.naive_bayes import ComplementNB

    from auditor.backends.tfidf import make_vectorizer, text_features
    from auditor.resume import FoldCache
    from auditor.scoring.label_quality import find_issues

    from auditor.backends import tfidf

    monkeypatch.setattr(backends, "CLEANED_PASS_MIN_ROWS", 50)  # the mechanism, on 90 rows
    monkeypatch.setattr(tfidf, "MANY_ROWS", 50)  # with the settings of many rows
    texts, noisy, flipped = _long_noisy()
    plan = backends.make_plan("tfidf+nb", texts, 3)
    assert plan.cleaned_pass
    single = backends.out_of_sample(texts, noisy, 3, backends.Plan("tfidf+nb", ("tfidf", "nb"), plan.text_features),
                                    3, 0, TrainConfig())
    out = backends.out_of_sample(texts, noisy, 3, plan, 3, 0, TrainConfig(), None, FoldCache(tmp_path, "fp"))
    flagged = find_issues(noisy, single.pred_probs)
    assert out.details["cleaned_pass"] == {"rows_left_out": int(flagged.sum()), "folds": 10} and flagged[flipped].all()
    # The cleaned pass's own 10 folds (at least CLEANED_PASS_FOLDS; the run's 3 are fewer) are the rows' folds.
    np.testing.assert_array_equal(out.folds, backends.fold_assignment(noisy, 10, 0))
    # The same probabilities by hand: each fold's two models trained on its rows less the flagged ones,
    # naive Bayes with the cleaned pass's smoothing.
    settings = text_features(texts)
    assert settings.cleaned_nb_alpha not in (None, settings.nb_alpha)
    features = make_vectorizer(settings).fit_transform(texts).tocsr()
    expected = np.zeros((len(texts), 3))
    for fold in range(10):
        train = np.flatnonzero((out.folds != fold) & ~flagged)
        test = np.flatnonzero(out.folds == fold)
        models = [SGDClassifier(loss="log_loss", alpha=settings.sgd_alpha, max_iter=50, tol=1e-4, random_state=0),
                  ComplementNB(alpha=settings.cleaned_nb_alpha)]
        expected[test] = np.mean([m.fit(features[train], noisy[train]).predict_proba(features[test])
                                  for m in models], axis=0)
    np.testing.assert_allclose(out.pred_probs, backends.normalize_probs(expected), atol=1e-9)
    # Killed during its last cleaned fold, the run resumes to the same probabilities.
    (tmp_path / "nb-cleaned-fold-9.npz").unlink()
    cache = FoldCache(tmp_path, "fp")
    again = backends.out_of_sample(texts, noisy, 3, plan, 3, 0, TrainConfig(), None, cache)
    assert "nb-cleaned-fold-8" in cache.hits and "nb-cleaned-fold-9" not in cache.hits
    np.testing.assert_array_equal(again.pred_probs, out.pred_probs)


def test_run_records_the_plan_for_long_texts(tmp_path):
    import json

    import pandas as pd

    from conftest import run_cli

    frame = easy_dataset(n_per_class=12)
    frame["text"] = [(t + " ") * 40 for t in frame["text"]]  # several hundred characters each
    path = tmp_path / "long.csv.gz"
    frame.to_csv(path, index=False)
    out = tmp_path / "run"
    proc = run_cli("run", "--data", path, "--folds", "3", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((out / "run.json").read_text())["plan"]
    assert plan["backends"] == ["tfidf", "nb"] and plan["text_features"]["char_ngrams"] is None
    # Signals and device are resolved once, into the plan every stage reads.
    assert plan["device"] == "cpu" and plan["signals"] == json.loads((out / "metrics.json").read_text())["signals"]
    # 36 rows: too few for the cleaned pass and for less smoothing (`test_long_text_smoothing_...`).
    assert plan["cleaned_pass"] is False and plan["text_features"]["nb_alpha"] == 0.3
    assert len(pd.read_csv(out / "scores.csv")) == len(frame)
