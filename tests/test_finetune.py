"""The Trainer backend on the packaged MiniLM: out-of-sample rows line up with their examples."""

import numpy as np
import pandas as pd
import torch

from auditor.backends import fold_assignment, normalize_probs
from auditor.backends.finetune import FinetuneBackend
from auditor.config import TrainConfig
from auditor.data import from_frame
from auditor.config import DataConfig
from conftest import easy_dataset, run_cli


def test_kfold_predictions_are_aligned_with_their_rows():
    """group_by_length makes the Trainer length-group its prediction sampler too; rows must not move.

    Texts get very different lengths so that a reordering would scramble them, and each held-out
    row's probabilities must equal a plain forward pass of the same model on that row alone.
    """
    frame = easy_dataset(30, seed=3)
    rng = np.random.default_rng(0)
    frame["text"] = [t + " really" * int(rng.integers(0, 25)) for t in frame["text"]]
    data = from_frame(frame, DataConfig(source="frame"))
    cfg = TrainConfig(epochs=4, batch_size=8, learning_rate=2e-4, group_by_length=True)
    backend = FinetuneBackend(len(data.class_names), seed=0, cfg=cfg)
    backend.prepare(list(data.texts))
    folds = fold_assignment(data.labels, 2, 0)
    probs = np.zeros((len(data), 3))
    for fold in range(2):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        probs[test] = backend.fit_predict(train, data.labels, test)
    assert np.allclose(probs.sum(axis=1), 1)
    accuracy = (probs.argmax(1) == data.labels).mean()
    assert accuracy > 0.8, accuracy  # chance is 1/3; misaligned rows would sit near it

    model = backend.last_model.eval()
    with torch.no_grad():
        for row in test[:12]:
            enc = backend.tokenizer(data.texts[row], return_tensors="pt", truncation=True, max_length=cfg.max_length)
            manual = torch.softmax(model(**enc.to(model.device)).logits.float(), -1).cpu().numpy()[0]
            assert np.allclose(manual, probs[row], atol=2e-3), row
    assert len(backend.fold_metrics) == 2 and "test_accuracy" in backend.fold_metrics[0]


def test_finetune_cli_end_to_end(tmp_path, emotion_slice):
    out = tmp_path / "run"
    proc = run_cli(
        "run", "--data", emotion_slice, "--method", "finetune", "--folds", "2", "--epochs", "1",
        "--batch-size", "32", "--out", out, "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 600 and sorted(scores["id"]) == list(range(600))
    probs = scores.filter(like="prob_").to_numpy()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-6)
    assert set(scores["fold"]) == {0, 1}
