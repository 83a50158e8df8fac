"""The Python API: same scores as the CLI, one exception type, results that reopen from disk."""

import datasets
import numpy as np
import pandas as pd
import pytest

import auditor
from auditor import AuditorError, audit, load_run
from conftest import easy_dataset, plant_flips, run_cli

SCORE_COLUMNS = ["id", "given_label", "suggested_label", "loss_score", "label_quality_score", "rank", "is_label_issue"]


@pytest.fixture(scope="module")
def noisy():
    return plant_flips(easy_dataset(30), 5, seed=2)[0]


def test_public_surface():
    assert sorted(auditor.__all__) == sorted(["audit", "load_run", "apply_corrections", "AuditResult", "AuditorError",
                                              "DataError", "OptionError", "RunDirError", "HubError"])
    for name in auditor.__all__:
        assert getattr(auditor, name) is not None, name
    errors = [auditor.DataError, auditor.OptionError, auditor.RunDirError, auditor.HubError]
    assert all(issubclass(e, auditor.AuditorError) and e.exit_code == 2 for e in errors)
    assert callable(auditor.audit) and callable(auditor.load_run) and callable(auditor.apply_corrections)


def test_dataframe_dataset_and_path_match_the_cli(tmp_path, noisy):
    path = tmp_path / "noisy.csv"
    noisy.to_csv(path, index=False)
    kwargs = dict(method="tfidf", folds=3, seed=4, verbose=False)
    from_frame = audit(noisy, **kwargs).scores
    from_dataset = audit(datasets.Dataset.from_pandas(noisy), **kwargs).scores
    from_path = audit(path, **kwargs).scores
    proc = run_cli("run", "--data", path, "--method", "tfidf", "--folds", "3", "--seed", "4",
                   "--out", tmp_path / "run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    from_cli = pd.read_csv(tmp_path / "run" / "scores.csv")
    for other in (from_dataset, from_path, from_cli):
        pd.testing.assert_frame_equal(from_frame[SCORE_COLUMNS], other[SCORE_COLUMNS], check_dtype=False)


def test_datasetdict_needs_a_split(noisy):
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_pandas(noisy)})
    with pytest.raises(AuditorError, match="split="):
        audit(dd, method="tfidf", verbose=False)
    assert len(audit(dd, split="train", method="tfidf", folds=3, verbose=False).scores) == len(noisy)


def test_errors_are_auditor_errors_with_cli_messages():
    with pytest.raises(AuditorError, match="row 2: column 'text' is empty"):
        audit(pd.DataFrame({"text": ["a", None], "label": ["x", "y"]}), verbose=False)
    with pytest.raises(AuditorError, match="The 'folds' parameter must be an int >= 2. Got 1 instead."):
        audit(easy_dataset(5), folds=1, verbose=False)
    with pytest.raises(AuditorError, match="Got list instead"):
        audit([1, 2, 3], verbose=False)


def test_errors_name_the_parameter_as_the_caller_spells_it(tmp_path):
    frame = pd.DataFrame({"words": ["a", "b"] * 10, "label": ["x", "y"] * 10})
    with pytest.raises(AuditorError) as info:
        audit(frame, verbose=False)
    assert info.value.param == "text_column"
    assert "Use text_column=." in str(info.value) and "--text-column" not in str(info.value)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    done = run_cli("run", "--data", path, "--out", tmp_path / "run", "--quiet")
    assert done.returncode == 2 and "Use --text-column." in done.stderr and "text_column=" not in done.stderr


def test_pred_probs_array_and_shape_check(noisy):
    probs = np.full((len(noisy), 3), 1 / 3)
    result = audit(noisy, pred_probs=probs, verbose=False)
    assert np.allclose(result.pred_probs, probs)
    with pytest.raises(AuditorError, match=r"shape \(90, 2\)"):
        audit(noisy, pred_probs=probs[:, :2], verbose=False)


def test_save_and_load_run_round_trip(tmp_path, noisy):
    result = audit(noisy, method="tfidf", folds=3, verbose=False)
    result.save(tmp_path / "run")
    again = load_run(tmp_path / "run")
    pd.testing.assert_frame_equal(result.scores, again.scores, check_dtype=False)
    assert again.metrics["accuracy"] == result.metrics["accuracy"]
    assert again.metrics["confusion_matrix"] == result.metrics["confusion_matrix"]
    assert again.class_names == result.class_names
    assert list(result.confusion_matrix().index) == list(result.class_names)


def test_repr_html_escapes_text():
    frame = easy_dataset(10)
    frame.loc[0, "text"] = "<script>alert(1)</script> football goal"
    frame.loc[0, "label"] = "food"
    result = audit(frame, method="tfidf", folds=3, verbose=False)
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "suspected label issues" in page


def test_plot_confusion_matrix_draws_on_the_given_axes(tmp_path, noisy):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = audit(noisy, method="tfidf", folds=3, verbose=False)
    fig, ax = plt.subplots()
    assert result.plot_confusion_matrix(ax=ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == list(result.class_names)
    plt.close(fig)
    page = result.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page
    exported = pd.read_csv(result.export_suspects(tmp_path / "s.csv", top=5), encoding="utf-8-sig")
    assert len(exported) == 5 and exported["corrected_label"].isna().all()


def test_train_data_and_signals_match_the_cli(tmp_path):
    """The CLI's --train-data and --signals through the API: the same scores, the same columns."""
    train, scored = easy_dataset(40, seed=0), plant_flips(easy_dataset(10, seed=1), 3, seed=5)[0]
    train_path, scored_path = tmp_path / "train.csv", tmp_path / "scored.csv"
    train.to_csv(train_path, index=False)
    scored.to_csv(scored_path, index=False)
    result = audit(scored, train_data=train, method="tfidf", signals=["duplicates"], verbose=False)
    proc = run_cli("run", "--data", scored_path, "--train-data", train_path, "--method", "tfidf",
                   "--signals", "duplicates", "--out", tmp_path / "run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    from_cli = pd.read_csv(tmp_path / "run" / "scores.csv")
    assert list(result.scores.columns) == list(from_cli.columns)
    assert "duplicate_group" in result.scores and "outlier_score" not in result.scores
    assert (result.scores["fold"] == -1).all() and result.metrics["folds"] is None
    pd.testing.assert_frame_equal(result.scores[SCORE_COLUMNS], from_cli[SCORE_COLUMNS], check_dtype=False)
    # Trained on clean data, the model disagrees with exactly the planted flips.
    assert (result.scores["predicted_label"] != result.scores["given_label"]).sum() == 3


def test_train_data_with_an_unknown_label_names_the_argument():
    train = easy_dataset(10, seed=0).assign(label=lambda f: f["label"].replace({"tech": "science"}))
    with pytest.raises(AuditorError, match=r"<train_data DataFrame>: label 'science' does not occur"):
        audit(easy_dataset(10, seed=1), train_data=train, method="tfidf", verbose=False)


def test_signals_must_be_known_names(noisy):
    with pytest.raises(AuditorError, match="The 'signals' parameter must be"):
        audit(noisy, signals="loss,colour", verbose=False)


def test_every_public_name_is_documented():
    import inspect
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    for name in auditor.__all__:
        assert f"`{name}" in page, name
    members = [m for m, _ in inspect.getmembers(auditor.AuditResult) if not m.startswith("_")]
    for member in members + list(inspect.signature(audit).parameters):
        assert member in page, member
