"""k-fold fine-tuning of a transformer classifier with the Hugging Face `Trainer`."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
import time

import numpy as np

from ..distributed import fold_shares, world_size
from ..errors import AuditorError, OptionError, first_line, load_error
from .base import Backend


def compute_metrics(eval_pred) -> dict:
    """Accuracy and weighted F1, as in the book's error analysis."""
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred
    preds = np.asarray(logits).argmax(-1)
    return {"accuracy": accuracy_score(labels, preds), "f1": f1_score(labels, preds, average="weighted")}


def load_tokenizer(model: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except Exception as exc:  # offline Hub, missing files, unknown id
        raise load_error(f"--model {model!r}: cannot load its tokenizer", exc) from None


def load_classifier(model: str, n_classes: int, class_names=None, **options):
    import torch
    from transformers import AutoModelForSequenceClassification

    names = list(class_names) if class_names else [str(i) for i in range(n_classes)]
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            model,
            num_labels=n_classes,
            # fp32 master weights even from a checkpoint saved in fp16/bf16 (transformers 5 would keep the
            # saved dtype): AdamW updates are lost in half precision; bf16 autocast gives the speed.
            dtype=torch.float32,
            id2label=dict(enumerate(names)),
            label2id={n: i for i, n in enumerate(names)},
            **options,  # e.g. problem_type="multi_label_classification" (auditor.multilabel.finetune)
        )
    except Exception as exc:
        raise load_error(f"--model {model!r}: cannot load it as a classifier", exc) from None


# Settings the user leaves unset (None) are chosen for the device. The CPU values are what the
# detection benchmark was run with. On a CUDA GPU a 22M-parameter model such as MiniLM is bound by
# per-step overhead (kernel launches, Python), not by arithmetic: a batch of 256 short texts costs about
# what a batch of 32 does. The k-fold audit trains k models on (k-1)/k of the rows each, i.e. 4x the
# samples of one fine-tune at k=5, so it must take fewer, larger steps: batch 256 with the learning rate
# scaled by sqrt(256/32) (1e-4 -> 3e-4, the usual rule for Adam that stays stable with 10% warm-up)
# and 2 epochs (the book's count) gives 5 x 100 = 500 steps on the 16,000-row emotion split, as many as
# the book's single fine-tune at batch 64, each on ~2.8x fewer padded tokens per example, in bf16.
CPU_DEFAULTS = {"epochs": 3.0, "batch_size": 32, "learning_rate": 1e-4}
GPU_DEFAULTS = {"epochs": 2.0, "batch_size": 256, "learning_rate": 3e-4}


def resolve_train_config(cfg, cuda: bool | None = None):
    """`cfg` with its unset (None) epochs, batch size and learning rate filled in for the device."""
    if cuda is None:
        from ..device import device

        cuda = device() == "cuda"
    defaults = GPU_DEFAULTS if cuda else CPU_DEFAULTS
    unset = {k: v for k, v in defaults.items() if getattr(cfg, k) is None}
    return dataclasses.replace(cfg, **unset) if unset else cfg


def choose_max_length(tokenizer, texts, seed: int = 0, share: float = 0.95, sample: int = 2000) -> int:
    """Tokens kept per text when the user sets none: the `share` quantile of the texts' token counts (on a
    sample of `sample` texts), rounded up to a multiple of 8, at most the model's limit (512 if unknown).

    A fixed 128 kept little more than the headers of long posts (20 Newsgroups: median ~300 tokens), and
    padding to the limit would cost short tweets 10x the compute for nothing.
    """
    texts = list(texts)
    if len(texts) > sample:
        texts = [texts[i] for i in np.random.default_rng(seed).choice(len(texts), sample, replace=False)]
    limit = tokenizer.model_max_length if 8 <= tokenizer.model_max_length <= 100_000 else 512
    counts = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=limit)["input_ids"]]
    wanted = int(np.ceil(np.quantile(counts, share) / 8) * 8) if counts else limit
    return int(min(limit, max(8, wanted)))


def truncate(tokenizer, texts, max_length: int, truncation: str = "head") -> dict[str, list[list[int]]]:
    """The tokenizer's encoding of each text (its special tokens included), at most `max_length` ids long.

    A longer text keeps its first content tokens ("head", what `truncation=True` does) or its first quarter
    and last three quarters ("head+tail"); its special tokens stay where the tokenizer put them, and every
    field (input_ids, attention_mask, token_type_ids) is cut at the same positions. Texts that fit are
    returned as the tokenizer encodes them. The split is Sun et al. 2019's ("How to Fine-Tune BERT for Text
    Classification"): head 128 + tail 382 of 510 tokens was best on long IMDb reviews, whose verdict comes last.
    On 20 Newsgroups posts, whose headers (From, Subject) come first, head-only measured better (accuracy 0.64
    against 0.53, AP 0.59 against 0.50, BENCHMARKS.md), so "head" is the default.
    """
    # verbose=False: texts longer than the model's limit are expected here, cut below.
    encoded = tokenizer(list(texts), truncation=False, verbose=False)
    prefix, suffix = _special_layout(tokenizer)
    budget = max_length - prefix - suffix
    if budget < 1:
        raise OptionError(f"The 'max-length' option must leave room for text after the model's {prefix + suffix} "
                          f"special tokens. Got {max_length} instead.")
    head = budget if truncation == "head" else budget // 4
    keep_end = suffix + budget - head  # the tail's tokens and the closing special tokens

    def cut(ids):
        return ids if len(ids) <= max_length else ids[:prefix + head] + ids[len(ids) - keep_end:]

    return {key: [cut(ids) for ids in rows] for key, rows in encoded.items()}


def save_input_settings(model_config, cfg) -> None:
    """Write how the model's texts were cut into its config.json, so `auditor predict` cuts new texts alike."""
    model_config.update({"auditor_max_length": cfg.max_length, "auditor_truncation": cfg.truncation})


def input_settings(model_config, tokenizer) -> tuple[int, str]:
    """(max_length, truncation) a saved model was trained with; for any other model, the tokenizer's limit
    (512 if it gives none) and the head, as a `pipeline` with `truncation=True` would."""
    limit = tokenizer.model_max_length if 8 <= tokenizer.model_max_length <= 100_000 else 512
    return (getattr(model_config, "auditor_max_length", None) or limit,
            getattr(model_config, "auditor_truncation", None) or "head")


def _special_layout(tokenizer) -> tuple[int, int]:
    """How many special tokens the tokenizer puts before and after a single text's own tokens."""
    mask = tokenizer("a", return_special_tokens_mask=True)["special_tokens_mask"]
    content = [i for i, special in enumerate(mask) if not special]
    return content[0], len(mask) - 1 - content[-1]


def per_device_batch_size(batch_size: int, processes: int) -> int:
    """--batch-size is the batch of one optimiser step across all processes, so the audit trains the same
    way however many GPUs run it; each process takes an equal share."""
    if batch_size % processes:
        raise OptionError(
            f"The 'batch-size' option must be divisible by the number of processes ({processes}). "
            f"Got {batch_size} instead."
        )
    return batch_size // processes


@dataclasses.dataclass(frozen=True)
class Device:
    """What the training settings depend on, so that they are chosen (and tested) without the hardware."""

    type: str = "cpu"  # "cpu" or "cuda"
    capability: tuple[int, int] = (0, 0)  # CUDA compute capability
    name: str = "cpu"
    processes: int = 1  # under torchrun
    cpus: int = 1  # CPU cores for this process


def current_device() -> Device:
    import os

    from ..device import device as device_type

    processes = world_size()
    cpus = max(1, (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    if device_type() != "cuda":
        return Device("cpu", processes=processes, cpus=cpus)
    import torch

    return Device("cuda", tuple(torch.cuda.get_device_capability()), torch.cuda.get_device_name(), processes, cpus)


def device_options(device: Device) -> dict:
    """The `TrainingArguments` that depend on the device.

    bf16 autocast only from compute capability 8 (Ampere) on: `torch.cuda.is_bf16_supported()` also says yes
    on a T4 or V100, where bf16 is emulated and slower than fp32; those get fp16 (with loss scaling).
    TF32 is not passed here: see `set_tf32`.
    """
    if device.type != "cuda":
        # Under torchrun on a machine without CUDA, accelerate only builds the gloo process group when told
        # to use the CPU; otherwise each process would train alone. Loader workers would only compete with
        # training for the same cores.
        return {"use_cpu": device.processes > 1, "dataloader_num_workers": 0, "dataloader_pin_memory": False}
    bf16 = device.capability >= (8, 0)
    # Reading rows from Arrow and padding them costs tens of ms per 256-row batch on one CPU core, more
    # than a GPU step of a small model: worker processes prepare batches in parallel, kept alive across epochs.
    workers = max(0, min(4, device.cpus - 1))
    return {
        "bf16": bf16,
        "fp16": not bf16,
        # One fused kernel per optimiser step instead of one per parameter tensor.
        "optim": "adamw_torch_fused",
        "dataloader_num_workers": workers,
        "dataloader_persistent_workers": workers > 0,
        # accelerate copies batches with non_blocking=False unless told otherwise, which makes the host wait
        # for every copy; an asynchronous copy also needs page-locked (pinned) batches.
        "dataloader_pin_memory": True,
        "accelerator_config": {"non_blocking": True},
    }


def set_tf32(device: Device) -> None:
    """TF32 tensor cores for the matmuls autocast leaves in fp32 (free on Ampere and newer), set through
    torch's legacy setters only.

    torch 2.13's inductor reads both `torch.get_float32_matmul_precision()` (legacy) and
    `torch.backends.cuda.matmul.fp32_precision` (new). The legacy setter keeps both readable; the new
    `torch.backends.fp32_precision`, which `TrainingArguments(tf32=...)` sets (and sets by itself whenever
    `torch_compile` and bf16 are on), makes the legacy getters raise "mix of the legacy and new APIs", so
    `--torch-compile` would fail. Called after `TrainingArguments` is built, it also repairs that state:
    the generic new-API switch goes back to "none" (defer to the per-backend flags), which the legacy
    setters then set consistently for both APIs (checked against torch 2.13 in tests/test_finetune.py).
    """
    if device.type != "cuda":
        return
    import torch

    enable = device.capability >= (8, 0)
    if hasattr(torch.backends, "fp32_precision"):  # torch >= 2.9
        torch.backends.fp32_precision = "none"
    torch.set_float32_matmul_precision("high" if enable else "highest")
    torch.backends.cudnn.allow_tf32 = enable


def training_arguments(cfg, seed: int, output_dir: str, show_progress: bool, device: Device | None = None):
    """The Trainer's settings for `device` (default: this process's); no side effects, so any device's
    arguments can be built and checked anywhere. The caller sets TF32 afterwards (`set_tf32`)."""
    from transformers import TrainingArguments

    device = device or current_device()
    batch = per_device_batch_size(cfg.batch_size, device.processes)
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.learning_rate,
        per_device_train_batch_size=batch,
        # Prediction needs no gradients, so much larger batches fit.
        per_device_eval_batch_size=batch * 4,
        weight_decay=cfg.weight_decay,
        warmup_steps=0.1,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        # On by default: it tests each step's loss with isnan/isinf, a host-device sync per step that leaves
        # the GPU idle for a launch-bound model; we log no loss for it to filter.
        logging_nan_inf_filter=False,
        report_to="none",
        seed=seed,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        disable_tqdm=not show_progress,
        # Sequence classifiers use every parameter in each forward pass, so DDP need not walk the autograd
        # graph each step looking for unused ones (torch warns about that cost on every rank); a model
        # that leaves some unused makes DDP stop with an error that says so.
        ddp_find_unused_parameters=False,
        log_level_replica="error",  # the Trainer resets replicas' logging to this at every fold
        # Off by default: compiling costs tens of seconds per fold (each fold is a fresh model, and
        # dynamic padding changes the shapes), more than a whole fold of MiniLM takes on a GPU.
        torch_compile=cfg.torch_compile,
        **device_options(device),
    )


def length_grouped_sampler(lengths, batch_size: int, seed: int):
    """Batches of similar lengths in a seeded random order: the same in every process under DDP (each takes
    its share of the same order) without relying on the global RNG, and the same for the same seed."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    return LengthGroupedSampler(batch_size, lengths=[int(x) for x in lengths],
                                generator=torch.Generator().manual_seed(seed))


class FinetuneBackend(Backend):
    """Tokenises once for all folds; each fold fine-tunes a fresh model and predicts only its held-out rows."""

    yields_dynamics = True
    runs_on_device = True
    caches_folds = True  # each finished fold's training dynamics

    def __init__(self, n_classes: int, seed: int, cfg, progress=None, shared=None, class_names=None):
        self.device = current_device()
        self.n_classes, self.seed = n_classes, seed
        self.cfg = resolve_train_config(cfg, cuda=self.device.type == "cuda")
        per_device_batch_size(self.cfg.batch_size, self.device.processes)  # fail before any work, not at fold 1
        self.class_names = class_names
        self.show_progress = progress is not None and getattr(progress, "bars", False)
        self.fold_metrics: list[dict] = []
        self.callbacks: list = []
        self.tokenizer = None
        self.encoded = None
        self.lengths = None  # token count per text, once tokenised
        self._scratch = None
        self.last_model = None
        # Under --parallel-folds with 2+ visible GPUs: one CUDA_VISIBLE_DEVICES value per worker process.
        self.fold_devices = _parallel_devices() if self.cfg.parallel_folds else []
        if self.fold_devices and self.device.processes > 1:
            raise OptionError("--parallel-folds runs one process per GPU itself; launch it without torchrun.")
        self._splits, self._done = None, {}
        self.timings = {"tokenise": 0.0, "train": 0.0, "predict": 0.0}
        self.throughput = {"train_samples": 0.0, "train_tokens": 0.0}
        self.dynamics = None
        if self.cfg.dynamics_per_epoch:
            self.dynamics = self._recorder()
            self.callbacks.append(self.dynamics)

    def prepare(self, texts):
        import datasets

        if not self.show_progress:
            datasets.disable_progress_bars()
        started = time.perf_counter()
        self.texts = list(texts)  # for --parallel-folds workers, which tokenise them again
        self.tokenizer = load_tokenizer(self.cfg.model)
        if self.cfg.max_length is None:
            self.cfg = dataclasses.replace(self.cfg, max_length=choose_max_length(self.tokenizer, texts, self.seed))
        ds = datasets.Dataset.from_dict({"text": self.texts})
        # Truncate only: padding happens per batch in DataCollatorWithPadding, not to the longest text.
        # The same cut serves every fold, the training dynamics, the final model and `auditor predict`.
        self.encoded = ds.map(
            lambda b: truncate(self.tokenizer, b["text"], self.cfg.max_length, self.cfg.truncation),
            batched=True,
            remove_columns=["text"],
            desc="tokenise",
        )
        # Counted once for all folds: the length-grouped sampler and the dynamics passes take them from here.
        self.lengths = np.array([len(x) for x in self.encoded["input_ids"]])
        self.timings["tokenise"] += time.perf_counter() - started

    def plan(self, splits) -> None:
        """All folds' (train rows, held-out rows), before the first is asked for: needed to run them in parallel."""
        self._splits = [(np.asarray(a), np.asarray(b)) for a, b in splits]

    def fit_predict(self, train_idx, labels, test_idx):
        if len(self.fold_devices) > 1 and self._splits is not None:
            return self._from_parallel_folds(test_idx, labels)
        trainer = self.train(train_idx, labels)
        try:
            return self.predict(trainer, test_idx, labels)
        finally:
            self.last_model = trainer.model  # until the next fold starts, for a look at the fold's model
            release(trainer)

    def fold_arrays(self, fold: int) -> dict:
        """What a resumed run needs from a finished fold besides its probabilities: its training dynamics."""
        return self.dynamics.fold_arrays(fold) if self.dynamics is not None else {}

    def restore_fold(self, fold: int, arrays: dict) -> None:
        if self.dynamics is not None:
            self.dynamics.restore_fold(fold, arrays)

    def train(self, train_idx, labels):
        """A Trainer whose fresh model has been fine-tuned on `train_idx` (DDP under torchrun)."""
        started = time.perf_counter()
        self.last_model = None
        _free_memory()  # the previous fold's model, before this fold loads its own
        trainer = self._trainer(train_idx, labels)
        if self.dynamics is not None:
            self.dynamics.begin_fold(self.encoded, self.lengths, train_idx, labels, self.tokenizer,
                                     pad_to_multiple_of=trainer.data_collator.pad_to_multiple_of)
        with out_of_memory_as_option_error(self.cfg, "training"):
            trainer.train()
            _synchronize()
        self.timings["train"] += time.perf_counter() - started
        self.throughput["train_samples"] += len(train_idx) * self.cfg.epochs
        self.throughput["train_tokens"] += float(self.lengths[train_idx].sum()) * self.cfg.epochs
        return trainer

    def _trainer(self, train_idx, labels):
        from transformers import DataCollatorWithPadding, set_seed

        train = self.encoded.select(train_idx).add_column("labels", self._label_values(labels[train_idx]))
        if self._scratch is None:  # the Trainer's output_dir; it saves nothing there (save_strategy "no")
            self._scratch = tempfile.TemporaryDirectory(prefix="auditor-trainer-")
        args = training_arguments(self.cfg, self.seed, self._scratch.name, self.show_progress, self.device)
        set_tf32(self.device)
        # The new classification head is drawn from torch's generator, which earlier folds have moved:
        # seed it here so each fold starts the same whether or not earlier folds ran in this process
        # (a resumed run then equals an uninterrupted one).
        set_seed(self.seed)
        trainer = _trainer_class()(
            model=self._classifier(),
            args=args,
            train_dataset=train,
            processing_class=self.tokenizer,
            # Lengths rounded up to a multiple of 8 keep half-precision matmuls (attention's inner dimension
            # is the sequence length) aligned for tensor cores; on CPU it would only add padding.
            data_collator=DataCollatorWithPadding(
                self.tokenizer, pad_to_multiple_of=8 if self.device.type == "cuda" else None),
            compute_metrics=self.compute_metrics,
            callbacks=list(self.callbacks),
        )
        trainer.lengths = self.lengths[train_idx]
        if not self.show_progress:
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)  # it prints a metrics dict per run to stdout
        return trainer

    def predict(self, trainer, test_idx, labels):
        """Class probabilities for `test_idx`, one row each, in the order given.

        With group_by_length the Trainer also length-groups its *prediction* sampler, which shuffles the
        output rows, so we predict sequentially over rows we sorted by length ourselves and undo the sort.
        Under DDP each process predicts a share of the batches and `Trainer.predict` gathers them in
        order, dropping the rows the distributed sampler repeated to even the shares out.
        """
        started = time.perf_counter()
        trainer.args.train_sampling_strategy = "random"
        order = np.argsort(self.lengths[test_idx], kind="stable")
        rows = np.asarray(test_idx)[order]
        held_out = self.encoded.select(rows).add_column("labels", self._label_values(labels[rows]))
        with out_of_memory_as_option_error(self.cfg, "predicting"):
            output = trainer.predict(held_out)
        self.fold_metrics.append({k: float(v) for k, v in output.metrics.items() if np.isscalar(v)})
        logits = np.asarray(output.predictions, dtype=np.float64)
        probs = np.empty_like(logits)
        probs[order] = self._probabilities(logits)
        self.timings["predict"] += time.perf_counter() - started
        return probs

    def _from_parallel_folds(self, test_idx, labels):
        """The asked fold's probabilities; on the first ask, this fold and all later ones are trained at once,
        one worker process per device (earlier folds were finished, or taken from an interrupted run)."""
        fold = next(f for f, (_, held_out) in enumerate(self._splits) if np.array_equal(held_out, test_idx))
        if fold not in self._done:
            started = time.perf_counter()
            todo = list(range(fold, len(self._splits)))
            self._done.update(run_folds_in_processes(self, todo, labels))
            self.timings["train"] += time.perf_counter() - started
        found = self._done.pop(fold)
        self.fold_metrics.append(found["metrics"])
        train_idx = self._splits[fold][0]
        self.throughput["train_samples"] += len(train_idx) * self.cfg.epochs
        self.throughput["train_tokens"] += float(self.lengths[train_idx].sum()) * self.cfg.epochs
        self.restore_fold(fold, found["arrays"])  # its training dynamics, numbered as this fold
        return found["probs"]

    # Hooks a multi-label subclass (auditor.multilabel.finetune) replaces: labels, head, outputs, metrics.
    compute_metrics = staticmethod(compute_metrics)

    def _label_values(self, labels) -> list:
        return [int(x) for x in labels]

    def _classifier(self):
        return load_classifier(self.cfg.model, self.n_classes, self.class_names)

    def _recorder(self):
        return self._recorder_class()(self.cfg.dynamics_per_epoch, batch_size=self.cfg.batch_size * 4)

    @staticmethod
    def _recorder_class():
        """The training-dynamics recorder for this head's labels (multi-label swaps in its own)."""
        from .dynamics import DynamicsRecorder

        return DynamicsRecorder

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        return _softmax(logits)

    def _at_max_length(self) -> int | None:
        """Texts cut, and those that fit exactly: the count the report shows."""
        return None if self.lengths is None else int((self.lengths >= self.cfg.max_length).sum())

    def details(self):
        cfg = self.cfg
        train_s = self.timings["train"]
        return {
            "model": cfg.model, "epochs": cfg.epochs, "batch_size": cfg.batch_size, "max_length": cfg.max_length,
            "truncation": cfg.truncation, "texts_at_max_length": self._at_max_length(),
            "learning_rate": cfg.learning_rate, "processes": world_size(), "folds": self.fold_metrics,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "train_samples_per_second": round(self.throughput["train_samples"] / train_s, 2) if train_s else None,
            "train_tokens_per_second": round(self.throughput["train_tokens"] / train_s, 1) if train_s else None,
        }


def _parallel_devices() -> list[str]:
    import torch

    count = torch.cuda.device_count()
    return [str(i) for i in range(count)] if count > 1 else []


_LAUNCHER_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def run_folds_in_processes(backend, folds, labels) -> dict[int, dict]:
    """Train `folds` of `backend`'s plan in one process per `backend.fold_devices` entry (its
    CUDA_VISIBLE_DEVICES; "" for the CPU), each taking the share `fold_shares` gives it; returns
    {fold: {"probs", "arrays", "metrics"}}. Fold k gives the same result wherever it runs."""
    import os
    import pickle
    import subprocess
    import sys
    from pathlib import Path

    shares = fold_shares(folds, len(backend.fold_devices))
    root = str(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory(prefix="auditor-folds-") as tmp:
        running = []
        for worker, (device, share) in enumerate(zip(backend.fold_devices, shares)):
            spec = Path(tmp) / f"worker-{worker}.pkl"
            with open(spec, "wb") as handle:
                pickle.dump({"texts": backend.texts, "labels": np.asarray(labels), "n_classes": backend.n_classes,
                             "seed": backend.seed, "cfg": dataclasses.replace(backend.cfg, parallel_folds=False),
                             "class_names": backend.class_names, "splits": {f: backend._splits[f] for f in share},
                             "out": str(spec.with_suffix(".out.pkl"))}, handle)
            # A plain single process (no launcher variables) that sees only its own device.
            env = {k: v for k, v in os.environ.items() if k not in _LAUNCHER_VARIABLES}
            env.update(CUDA_VISIBLE_DEVICES=device,
                       PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
            command = [sys.executable, "-c", "import sys; from auditor.backends.finetune import _fold_worker; "
                       "_fold_worker(sys.argv[1])", str(spec)]
            log = open(spec.with_suffix(".log"), "w+")  # a file, not a pipe: a chatty worker cannot block
            running.append((subprocess.Popen(command, env=env, stderr=log), log, spec, share))
        results = {}
        try:
            for process, log, spec, share in running:
                if process.wait() != 0:
                    failed = spec.with_suffix(".error.pkl")
                    if failed.exists():  # the worker met a problem the user can fix (GPU memory): say it as is
                        with open(failed, "rb") as handle:
                            raise pickle.load(handle)
                    log.seek(0)
                    lines = log.read().strip().splitlines()
                    tail = lines[-1] if lines else f"exit status {process.returncode}"
                    raise RuntimeError(f"--parallel-folds: the worker training folds {share} failed: {tail}")
                with open(spec.with_suffix(".out.pkl"), "rb") as handle:
                    results.update(pickle.load(handle))
        finally:  # one worker failed or the run was interrupted: stop the others too
            for process, log, _, _ in running:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                log.close()
    return results


def _fold_worker(spec_path: str) -> None:
    """One --parallel-folds worker: its share of the folds, in a fresh process that sees one device."""
    import pickle
    from pathlib import Path

    from ..distributed import silence_libraries

    silence_libraries()
    with open(spec_path, "rb") as handle:
        spec = pickle.load(handle)
    try:
        results = _worker_folds(spec)
    except AuditorError as exc:
        with open(Path(spec_path).with_suffix(".error.pkl"), "wb") as handle:
            pickle.dump(exc, handle)
        raise SystemExit(exc.exit_code) from None
    with open(spec["out"], "wb") as handle:
        pickle.dump(results, handle)


def _worker_folds(spec: dict) -> dict:
    backend = FinetuneBackend(spec["n_classes"], spec["seed"], spec["cfg"], class_names=spec["class_names"])
    backend.prepare(spec["texts"])
    results = {}
    for fold, (train_idx, test_idx) in sorted(spec["splits"].items()):
        backend.restore_fold(fold - 1, {})  # number its training dynamics as this fold
        probs = backend.fit_predict(train_idx, spec["labels"], test_idx)
        results[fold] = {"probs": probs, "arrays": backend.fold_arrays(fold), "metrics": backend.fold_metrics[-1]}
    return results


@functools.cache
def _trainer_class():
    """A Trainer subclass, defined on first use so that importing this module does not import transformers."""
    from transformers import Trainer

    class _LengthsTrainer(Trainer):
        """Trains with the backend's length-grouped sampler: lengths counted once for all folds (the
        Trainer's own sampler reads every row's input_ids again each fold) and a seeded generator."""

        lengths = None

        def _get_train_sampler(self, train_dataset=None):
            if self.args.train_sampling_strategy != "group_by_length" or self.lengths is None:
                return super()._get_train_sampler(train_dataset)
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
            return length_grouped_sampler(self.lengths, batch, seed)

    return _LengthsTrainer


def release(trainer) -> None:
    """Drop a finished fold's references to its model, optimiser and loaders (with their worker processes),
    so they are freed before the next fold starts, not whenever the garbage collector meets the Trainer's
    reference cycles (on a GPU: two models, two optimisers' state at once)."""
    trainer.accelerator.free_memory()
    trainer.model = trainer.model_wrapped = trainer.optimizer = trainer.lr_scheduler = None
    handler = trainer.callback_handler
    # The handler keeps the last prediction loader too (`eval_dataloader`), with its persistent workers.
    handler.model = handler.optimizer = handler.lr_scheduler = handler.train_dataloader = None
    handler.eval_dataloader = None
    _free_memory()


@contextlib.contextmanager
def out_of_memory_as_option_error(cfg, stage: str):
    """A GPU out of memory is the options' doing (batch size, max length): one line naming them, exit 2,
    instead of an internal error, so a first GPU run says what to change."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as exc:
        _free_memory()
        raise OptionError(
            f"The GPU ran out of memory {stage} with --batch-size {cfg.batch_size} and --max-length "
            f"{cfg.max_length} ({first_line(exc)}); pass a smaller --batch-size or --max-length."
        ) from None


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _synchronize() -> None:
    """Wait for queued GPU work, so a stage's wall time includes it."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
