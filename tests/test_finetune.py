"""The Trainer backend on the packaged MiniLM: out-of-sample rows line up with their examples."""

import json
import os
import subprocess
import sys
import textwrap
import weakref
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import TrainerCallback

from auditor.backends import fold_assignment, normalize_probs
from auditor.backends.finetune import (
    GPU_DEFAULTS, Device, FinetuneBackend, length_grouped_sampler, load_classifier, resolve_train_config,
    training_arguments, truncate,
)
from auditor.config import TrainConfig
from auditor.data import from_frame
from auditor.config import DataConfig
from conftest import ROOT, easy_dataset, run_cli


@pytest.mark.slow
@pytest.mark.ci_slow  # a real fine-tune: CI's second tier, keeps the default run short
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


@pytest.mark.slow
@pytest.mark.ci_slow  # a real fine-tune: CI's second tier, keeps the default run short
def test_finetune_cli_end_to_end(tmp_path, emotion_slice):
    data = tmp_path / "emotion120.txt"
    data.write_text("\n".join(emotion_slice.read_text(encoding="utf-8").splitlines()[:120]) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    proc = run_cli(
        "run", "--data", data, "--method", "finetune", "--folds", "2", "--epochs", "1",
        "--batch-size", "32", "--max-length", "32", "--out", out, "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet: no model-loading report, progress bar or library warning
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 120 and sorted(scores["id"]) == list(range(120))
    probs = scores.filter(like="prob_").to_numpy()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-6)
    assert set(scores["fold"]) == {0, 1}


# --- settings chosen for a device: checked on any machine by describing the device ----------------------

AMPERE = Device("cuda", (8, 0), "NVIDIA A100", cpus=16)
TURING = Device("cuda", (7, 5), "Tesla T4", cpus=8)


@pytest.fixture()
def bf16_probe_says_yes(monkeypatch):
    """TrainingArguments refuses bf16 unless torch finds a bf16 GPU; stand in for the GPU described."""
    import transformers.training_args

    monkeypatch.setattr(transformers.training_args, "is_torch_bf16_gpu_available", lambda: True)


@pytest.mark.parametrize("device, bf16", [(AMPERE, True), (Device("cuda", (9, 0), "H100"), True),
                                          (TURING, False), (Device("cuda", (7, 0), "V100"), False)])
def test_cuda_training_arguments(tmp_path, bf16_probe_says_yes, device, bf16):
    """bf16 from compute capability 8 only (a T4 or V100 emulates it), fp16 below; no per-step host sync."""
    cfg = resolve_train_config(TrainConfig(), cuda=True)
    args = training_arguments(cfg, seed=0, output_dir=str(tmp_path), show_progress=False, device=device)
    assert (args.bf16, args.fp16) == (bf16, not bf16)
    assert args.tf32 is None  # TF32 goes through set_tf32, never through TrainingArguments (torch.compile)
    assert args.logging_nan_inf_filter is False  # isnan/isinf on every step's loss is a host-device sync
    assert args.accelerator_config.non_blocking is True and args.dataloader_pin_memory is True
    assert args.optim == "adamw_torch_fused" and not args.use_cpu
    assert args.per_device_train_batch_size == GPU_DEFAULTS["batch_size"]
    assert args.dataloader_num_workers == min(4, device.cpus - 1)
    assert args.dataloader_persistent_workers == (args.dataloader_num_workers > 0)


def test_cpu_training_arguments(tmp_path):
    cfg = resolve_train_config(TrainConfig(), cuda=False)
    args = training_arguments(cfg, 0, str(tmp_path), False, device=Device("cpu", cpus=2))
    assert not (args.bf16 or args.fp16) and args.dataloader_num_workers == 0
    assert not args.dataloader_pin_memory and not args.use_cpu
    two = training_arguments(cfg, 0, str(tmp_path), False, device=Device("cpu", processes=2))
    assert two.use_cpu and two.per_device_train_batch_size == cfg.batch_size // 2  # gloo under torchrun


def test_tf32_is_set_through_the_api_inductor_can_read():
    """After TrainingArguments has set torch's new precision API (it does with tf32=True, or by itself with
    torch_compile and bf16), the legacy getters inductor reads raise; set_tf32 leaves both readable.
    In a subprocess: these are process-wide switches."""
    script = textwrap.dedent("""
        import json, torch
        from auditor.backends.finetune import Device, set_tf32
        torch.backends.fp32_precision = "tf32"  # what transformers' enable_tf32 does on torch >= 2.9
        try:
            torch.get_float32_matmul_precision()
            mixed = False
        except RuntimeError as exc:
            mixed = "mix of the legacy and new" in str(exc)
        seen = {"mixed_before": mixed}
        for name, capability in (("ampere", (8, 0)), ("volta", (7, 0))):
            set_tf32(Device("cuda", capability))
            seen[name] = [torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32,
                          torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.allow_tf32]
        print(json.dumps(seen))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["mixed_before"] is True
    assert seen["ampere"] == ["high", True, "tf32", True]
    assert seen["volta"] == ["highest", False, "ieee", False]


def test_length_grouped_sampler_is_seeded_not_global():
    """Under DDP every process must draw the same order; it must not depend on the global RNG."""
    lengths = np.random.default_rng(0).integers(5, 60, 500)
    torch.manual_seed(1)
    first = list(length_grouped_sampler(lengths, 16, seed=7))
    torch.manual_seed(2)
    second = list(length_grouped_sampler(lengths, 16, seed=7))
    assert first == second and sorted(first) == list(range(500))
    assert first != list(length_grouped_sampler(lengths, 16, seed=8))
    # Batches group similar lengths: far less padding than a plain shuffle.
    spread = np.mean([np.ptp(lengths[first[i:i + 16]]) for i in range(0, 500, 16)])
    assert spread < 0.5 * np.ptp(lengths)


@pytest.mark.slow
@pytest.mark.ci_slow
def test_folds_share_lengths_and_free_the_previous_model():
    frame = easy_dataset(8, seed=1)
    data = from_frame(frame, DataConfig(source="frame"))
    cfg = TrainConfig(epochs=1, batch_size=8, max_length=16)
    backend = FinetuneBackend(len(data.class_names), seed=0, cfg=cfg)
    backend.prepare(list(data.texts))
    folds = fold_assignment(data.labels, 2, 0)
    train0, test0 = np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)

    counted = backend.lengths
    backend.lengths = counted + 1000  # no text has these lengths: a sampler that recounts them cannot match
    trainer = backend._trainer(train0, data.labels)
    sampler = trainer._get_train_sampler()
    assert sampler.lengths == backend.lengths[train0].tolist()  # counted once in prepare, not per fold
    assert sampler.generator is not None
    backend.lengths = counted

    alive_at_next_fold = []

    class Watch(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            alive_at_next_fold.append(previous() is not None if previous else None)

    previous = None
    backend.callbacks.append(Watch())
    backend.fit_predict(train0, data.labels, test0)
    previous = weakref.ref(backend.last_model)
    backend.fit_predict(np.flatnonzero(folds != 1), data.labels, np.flatnonzero(folds == 1))
    assert alive_at_next_fold == [None, False]  # fold 1 trained without fold 0's model in memory


def test_dependency_floors_admit_no_version_the_fine_tune_cannot_use():
    """pyproject's floors: transformers' Trainer refuses accelerate below its ACCELERATE_MIN_VERSION, and
    `out_of_memory_as_option_error` catches `torch.OutOfMemoryError`, which torch has from 2.5 on."""
    from packaging.requirements import Requirement
    from packaging.version import Version
    from transformers.utils.import_utils import ACCELERATE_MIN_VERSION

    tomllib = pytest.importorskip("tomllib")
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {r.name: Version(s.version) for r in map(Requirement, listed) for s in r.specifier if s.operator == ">="}
    assert floors["accelerate"] >= Version(ACCELERATE_MIN_VERSION)
    assert floors["torch"] >= Version("2.5")


@pytest.mark.slow
@pytest.mark.ci_slow
def test_release_ends_the_previous_folds_loader_workers():
    """On a GPU each fold's loaders keep worker processes (persistent workers, `device_options`); `release`
    must end them when the fold is done, not leave them to the next fold or the garbage collector.
    Forced here on the CPU with one worker; a fold trains and predicts, then is released."""
    import multiprocessing

    from auditor.backends.finetune import release

    data = from_frame(easy_dataset(8, seed=1), DataConfig(source="frame"))
    backend = FinetuneBackend(len(data.class_names), seed=0, cfg=TrainConfig(epochs=1, batch_size=8, max_length=16))
    backend.prepare(list(data.texts))
    folds = fold_assignment(data.labels, 2, 0)
    trainer = backend._trainer(np.flatnonzero(folds != 0), data.labels)
    trainer.args.dataloader_num_workers, trainer.args.dataloader_persistent_workers = 1, True
    before = set(multiprocessing.active_children())
    trainer.train()
    backend.predict(trainer, np.flatnonzero(folds == 0), data.labels)
    workers = set(multiprocessing.active_children()) - before
    assert workers and all(w.is_alive() for w in workers)  # persistent: the training and prediction loaders'
    release(trainer)
    for worker in workers:
        worker.join(timeout=30)
    assert not any(w.is_alive() for w in workers)


def test_dynamics_batches_are_padded_once_to_a_multiple_of_8():
    from auditor.backends.dynamics import DynamicsRecorder

    frame = easy_dataset(10, seed=2)
    rng = np.random.default_rng(0)
    frame["text"] = [t + " really" * int(rng.integers(0, 12)) for t in frame["text"]]
    data = from_frame(frame, DataConfig(source="frame"))
    backend = FinetuneBackend(len(data.class_names), seed=0, cfg=TrainConfig(epochs=1, batch_size=8))
    backend.prepare(list(data.texts))
    rows = np.arange(0, len(data), 2)
    recorder = DynamicsRecorder(batch_size=4)
    recorder.begin_fold(backend.encoded, backend.lengths, rows, data.labels, backend.tokenizer, pad_to_multiple_of=8)
    batches = recorder.batches
    assert sum(len(b["input_ids"]) for b in batches) == len(rows)
    assert all(b["input_ids"].shape[1] % 8 == 0 for b in batches)
    widths = [b["attention_mask"].sum(1).max().item() for b in batches]
    assert widths == sorted(widths)  # rows sorted by length, so each batch pads little

    model = load_classifier(backend.cfg.model, 3).eval()
    args = SimpleNamespace(bf16=False, fp16=False)
    logits = recorder._logits(model, args)
    assert recorder.batches is batches  # each pass reuses the padded tensors
    assert np.array_equal(logits, recorder._logits(model, args))
    with torch.no_grad():
        for i, row in enumerate(recorder._rows[:6]):
            enc = backend.tokenizer(data.texts[row], return_tensors="pt", truncation=True,
                                    max_length=backend.cfg.max_length)
            assert np.allclose(model(**enc).logits[0].numpy(), logits[i], atol=1e-4), row


# --- which tokens of a long text fine-tuning keeps ---------------------------------------------------------
@pytest.fixture(scope="module")
def words():
    """The packaged tokenizer and 300 whole-word vocabulary entries: a text of them has one token per word."""
    from auditor.backends.finetune import load_tokenizer
    from auditor.config import default_model

    tokenizer = load_tokenizer(default_model())
    vocab = [t for t in tokenizer.convert_ids_to_tokens(list(range(2000, 3000))) if t.isalpha()][:300]
    ids = tokenizer.convert_tokens_to_ids(vocab)
    assert tokenizer(" ".join(vocab), add_special_tokens=False)["input_ids"] == ids  # one token per word
    return tokenizer, vocab, ids


def test_head_truncation_is_the_tokenizers_own(words):
    tokenizer, vocab, ids = words
    texts = [" ".join(vocab[:n]) for n in (3, 14, 15, 16, 300)]
    assert truncate(tokenizer, texts, 16, "head") == dict(tokenizer(texts, truncation=True, max_length=16))
    cut = truncate(tokenizer, texts, 16, "head")["input_ids"][-1]
    assert cut == [tokenizer.cls_token_id, *ids[:14], tokenizer.sep_token_id]


@pytest.mark.parametrize("max_length", [16, 33, 256])
def test_head_tail_truncation_keeps_the_first_quarter_and_the_end(words, max_length):
    tokenizer, vocab, ids = words
    texts = [" ".join(vocab), " ".join(vocab[:max_length - 2]), "a short text"]
    encoded = truncate(tokenizer, texts, max_length, "head+tail")
    long, fits, short = encoded["input_ids"]
    budget = max_length - 2  # [CLS] ... [SEP]
    head = budget // 4
    assert long == [tokenizer.cls_token_id, *ids[:head], *ids[len(ids) - (budget - head):], tokenizer.sep_token_id]
    assert len(long) == max_length and tokenizer.decode(long[1:-1]).split()[-1] == vocab[-1]
    assert all(len(encoded[k][0]) == max_length for k in encoded)  # every field cut at the same positions
    assert set(encoded["attention_mask"][0]) == {1} and set(encoded["token_type_ids"][0]) == {0}
    # Texts that fit (exactly, or with room) are encoded as the tokenizer encodes them.
    assert [fits, short] == tokenizer(texts[1:])["input_ids"] and len(fits) == max_length


def test_truncation_leaves_room_for_special_tokens(words):
    from auditor.errors import OptionError

    tokenizer, vocab, _ = words
    with pytest.raises(OptionError, match="max.length.*special tokens. Got 2 instead"):
        truncate(tokenizer, [" ".join(vocab)], 2, "head+tail")


def test_truncation_round_trips_through_the_run_config_and_is_validated():
    import dataclasses

    from auditor.config import RunConfig
    from auditor.errors import OptionError

    config = RunConfig(method="finetune", train=TrainConfig(max_length=64, truncation="head+tail"))
    again = RunConfig.from_dict(json.loads(json.dumps(dataclasses.asdict(config))))
    assert again == config and again.train.truncation == "head+tail"
    assert RunConfig().train.truncation == "head"
    with pytest.raises(OptionError, match=r"'truncation' \w+ must be one of head, head\+tail. Got 'tail'"):
        RunConfig(train=TrainConfig(truncation="tail"))


def test_backend_cuts_texts_as_configured_and_records_it(words):
    tokenizer, vocab, ids = words
    texts = [" ".join(vocab), "a short text"]
    for truncation in ("head", "head+tail"):
        backend = FinetuneBackend(2, seed=0, cfg=TrainConfig(max_length=16, truncation=truncation))
        backend.prepare(texts)
        assert backend.encoded["input_ids"] == truncate(tokenizer, texts, 16, truncation)["input_ids"]
        details = backend.details()
        assert details["truncation"] == truncation and details["max_length"] == 16
        assert details["texts_at_max_length"] == 1 and list(backend.lengths) == [16, 5]

