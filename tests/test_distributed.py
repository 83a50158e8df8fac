"""`torchrun` launches: two CPU processes (gloo) train each fold with DDP and write one ordinary run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditor.backends.finetune import GPU_DEFAULTS, per_device_batch_size, resolve_train_config
from auditor.config import TrainConfig
from auditor.errors import OptionError
from conftest import EMOTION_TRAIN, ROOT, run_cli

RUN_ARGS = ["run", "--method", "finetune", "--folds", "2", "--epochs", "1", "--batch-size", "16"]
# Both processes on the CPU, whatever the machine has, so the test means the same everywhere.
CPU_ENV = {"CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _torchrun(*args, timeout=600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=dict(os.environ, **CPU_ENV), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def tiny_emotion(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ddp-data") / "emotion80.txt"
    path.write_text("\n".join(EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:80]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tiny_emotion, tmp_path_factory):
    """The same audit run as one process and as two torchrun processes, in separate parent folders."""
    single_root, ddp_root = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("ddp")
    single = run_cli(*RUN_ARGS, "--data", tiny_emotion, "--out", single_root / "run", env=CPU_ENV)
    ddp = _torchrun("-m", "auditor", *RUN_ARGS, "--data", tiny_emotion, "--out", ddp_root / "run")
    return single, single_root, ddp, ddp_root


@pytest.mark.slow
@pytest.mark.ci_slow  # a real fine-tune: CI's second tier, keeps the default run short
def test_two_processes_write_one_run_folder_and_one_summary(runs):
    _, _, ddp, ddp_root = runs
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert sorted(p.name for p in ddp_root.iterdir()) == ["run"]  # no second folder, no leftover temp folder
    assert ddp.stdout.count("Audited 80 examples") == 1
    assert ddp.stderr.count("auditor: finetune: fold 1/2") == 1  # progress from the main process only
    assert "Traceback" not in ddp.stderr


@pytest.mark.slow
@pytest.mark.ci_slow  # a real fine-tune: CI's second tier, keeps the default run short
def test_two_process_run_has_the_single_process_format(runs):
    single, single_root, ddp, ddp_root = runs
    assert single.returncode == 0, single.stderr[-3000:]
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one, two = single_root / "run", ddp_root / "run"
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in two.iterdir())
    a, b = pd.read_csv(one / "scores.csv"), pd.read_csv(two / "scores.csv")
    assert list(a.columns) == list(b.columns)
    assert b["id"].tolist() == list(range(80))  # every row once, in input order
    assert (b["text"] == a["text"]).all() and (b["given_label"] == a["given_label"]).all()
    probs = b[[c for c in b.columns if c.startswith("prob_")]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (one, two))
    r1, r2 = (json.loads((d / "run.json").read_text()) for d in (one, two))
    assert m1.keys() == m2.keys() and r1.keys() == r2.keys()
    assert m2["accuracy"] == pytest.approx((b["predicted_label"] == b["given_label"]).mean())
    assert m2["backend_details"]["finetune"]["processes"] == 2
    assert m1["backend_details"]["finetune"]["processes"] == 1
    # Each process took half of every 16-row step, so both runs trained with the same batch.
    assert m2["backend_details"]["finetune"]["batch_size"] == m1["backend_details"]["finetune"]["batch_size"] == 16


@pytest.mark.slow
@pytest.mark.ci_slow  # a real fine-tune: CI's second tier, keeps the default run short
def test_ddp_prediction_returns_every_row_once_in_order(tiny_emotion, tmp_path):
    plain, ddp = tmp_path / "plain.npz", tmp_path / "ddp.npz"
    script = ROOT / "tests" / "ddp_predict_order.py"
    done = subprocess.run([sys.executable, script, tiny_emotion, plain], cwd=ROOT, env=dict(os.environ, **CPU_ENV),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    done = _torchrun(script, tiny_emotion, ddp)
    assert done.returncode == 0, done.stderr[-3000:]
    one, two = np.load(plain), np.load(ddp)
    assert int(one["world_size"]) == 1 and int(two["world_size"]) == 2
    p1, p2 = one["probs"], two["probs"]
    assert p1.shape == p2.shape == (37, 6)
    # Rows are told apart by far more than the tolerance, so a shifted or repeated row would fail.
    gaps = np.abs(p1[:, None, :] - p1[None, :, :]).max(axis=2) + np.eye(len(p1))
    assert gaps.min() > 1e-4
    np.testing.assert_allclose(p2, p1, atol=1e-6)


def test_batch_size_is_split_evenly_over_processes():
    assert per_device_batch_size(32, 4) == 8
    with pytest.raises(OptionError, match="divisible by the number of processes \\(4\\). Got 30 instead"):
        per_device_batch_size(30, 4)


def test_unset_training_options_are_chosen_for_the_device():
    gpu = resolve_train_config(TrainConfig(), cuda=True)
    assert (gpu.epochs, gpu.batch_size, gpu.learning_rate) == tuple(GPU_DEFAULTS[k] for k in ("epochs", "batch_size", "learning_rate"))
    cpu = resolve_train_config(TrainConfig(batch_size=8), cuda=False)
    assert cpu.batch_size == 8 and cpu.epochs == 3.0 and cpu.learning_rate == 1e-4


# --- --parallel-folds: one process per GPU, each training its own folds ------------------------------


def test_fold_shares_are_round_robin():
    from auditor.distributed import fold_shares

    assert fold_shares(range(5), 2) == [[0, 2, 4], [1, 3]]
    assert fold_shares([1, 2, 3, 4], 3) == [[1, 4], [2], [3]]  # resumed: fold 0 was already done
    assert fold_shares(range(2), 4) == [[0], [1]]  # no idle worker is started
    shares = fold_shares(range(10), 4)
    assert sorted(f for s in shares for f in s) == list(range(10)) and max(map(len, shares)) - min(map(len, shares)) <= 1


def test_every_run_option_passes_through_torchruns_parser():
    """torchrun's argparse takes any prefix of its own options from the script's arguments too: `--signals`
    (of --signals-to-handle) stops it; `--use-signals` is the spelling that reaches auditor."""
    from torch.distributed.run import get_args_parser

    from auditor.cli.main import build_parser

    launch = ["--standalone", "--nproc_per_node", "2", "-m", "auditor"]
    with pytest.raises(SystemExit):
        get_args_parser().parse_args([*launch, "run", "--signals", "loss"])
    script = get_args_parser().parse_args([*launch, "run", "--use-signals", "loss", "--seed", "3"])
    assert script.training_script == "auditor"
    args = build_parser().parse_args(script.training_script_args)
    assert args.signals == "loss" and args.seed == 3
    torchrun = {o for a in get_args_parser()._actions for o in a.option_strings}
    ours = {o for a in build_parser()._subparsers._group_actions[0].choices["run"]._actions
            for o in a.option_strings if o.startswith("--") and o not in ("--help", "--signals")}
    assert not [o for o in ours if any(t.startswith(o) for t in torchrun)]


def test_a_workers_user_error_reaches_the_user_as_itself(tmp_path):
    """--parallel-folds: a worker that cannot load the model (or runs out of GPU memory) stops the run with
    its own one-line error (exit 2), not an internal error about a failed worker."""
    from types import SimpleNamespace

    from auditor.backends.finetune import run_folds_in_processes

    gone = tmp_path / "model-removed-after-the-run-started"
    cfg = TrainConfig(model=str(gone), epochs=1, batch_size=8, max_length=16)
    parent = SimpleNamespace(fold_devices=["", ""], texts=["a b", "c d"] * 4, n_classes=2, seed=0, cfg=cfg,
                             class_names=("x", "y"), _splits=[(np.arange(4), np.arange(4, 8))] * 2)
    with pytest.raises(OptionError, match="cannot load its tokenizer") as caught:
        run_folds_in_processes(parent, [0, 1], np.array([0, 1] * 4))
    assert str(gone) in caught.value.cli_message()


def test_gpu_out_of_memory_names_the_options_to_change():
    import torch

    from auditor.backends.finetune import out_of_memory_as_option_error

    cfg = TrainConfig(batch_size=256, max_length=512)
    with pytest.raises(OptionError) as caught, out_of_memory_as_option_error(cfg, "training"):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail")
    message = caught.value.cli_message()
    assert message.startswith("The GPU ran out of memory training with --batch-size 256 and --max-length 512")
    assert "Tried to allocate 2.00 GiB" in message and "\n" not in message
    assert "batch_size=" in str(caught.value)  # the Python caller reads parameter names


@pytest.mark.slow
@pytest.mark.ci_slow
def test_parallel_folds_equal_sequential_folds(monkeypatch):
    """Two worker processes (on the CPU here; one per GPU in use) train 3 folds between them: every row's
    probabilities and training dynamics are those of the same folds trained one after another."""
    import dataclasses

    import auditor.backends.finetune as finetune
    from auditor.backends import out_of_sample
    from auditor.data import from_frame
    from auditor.config import DataConfig
    from conftest import easy_dataset

    data = from_frame(easy_dataset(8, seed=4), DataConfig(source="frame"))
    cfg = TrainConfig(epochs=1, batch_size=8, learning_rate=2e-4, max_length=16, dynamics_per_epoch=1)
    args = (list(data.texts), data.labels, len(data.class_names), ("finetune",), 3, 0)
    sequential = out_of_sample(*args, cfg)
    monkeypatch.setattr(finetune, "_parallel_devices", lambda: ["", ""])  # two workers, no GPU
    parallel = out_of_sample(*args, dataclasses.replace(cfg, parallel_folds=True))
    np.testing.assert_allclose(parallel.pred_probs, sequential.pred_probs, atol=1e-6)
    assert (parallel.folds == sequential.folds).all()
    key = ["fold", "epoch", "row"]
    a = sequential.dynamics.sort_values(key).reset_index(drop=True)
    b = parallel.dynamics.sort_values(key).reset_index(drop=True)
    assert a[key].equals(b[key]) and sorted(b["fold"].unique()) == [0, 1, 2]
    np.testing.assert_allclose(b["p_given"], a["p_given"], atol=1e-6)
    assert len(parallel.details["finetune"]["folds"]) == 3
