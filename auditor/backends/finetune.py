"""k-fold fine-tuning of a transformer classifier with the Hugging Face `Trainer`."""

from __future__ import annotations

import dataclasses
import tempfile
import time

import numpy as np

from ..distributed import world_size
from ..errors import OptionError


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
        raise OptionError(f"--model {model!r}: cannot load its tokenizer: {_first_line(exc)}") from None


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
        raise OptionError(f"--model {model!r}: cannot load it as a classifier: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
        import torch

        cuda = torch.cuda.is_available()
    defaults = GPU_DEFAULTS if cuda else CPU_DEFAULTS
    unset = {k: v for k, v in defaults.items() if getattr(cfg, k) is None}
    return dataclasses.replace(cfg, **unset) if unset else cfg


def per_device_batch_size(batch_size: int, processes: int) -> int:
    """--batch-size is the batch of one optimiser step across all processes, so the audit trains the same
    way however many GPUs run it; each process takes an equal share."""
    if batch_size % processes:
        raise OptionError(
            f"The 'batch-size' option must be divisible by the number of processes ({processes}). "
            f"Got {batch_size} instead."
        )
    return batch_size // processes


def training_arguments(cfg, seed: int, output_dir: str, show_progress: bool):
    import torch
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    processes = world_size()
    batch = per_device_batch_size(cfg.batch_size, processes)
    workers = _loader_workers() if cuda else 0
    # One fused kernel per optimiser step instead of one per parameter tensor; the default only from
    # transformers 5, so it is named here for the 4.x versions we also support.
    gpu_only = {"optim": "adamw_torch_fused"} if cuda else {}
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
        report_to="none",
        seed=seed,
        # bf16 autocast halves activation memory and uses tensor cores; Ampere and newer support it.
        bf16=cuda and torch.cuda.is_bf16_supported(),
        # TF32 tensor cores for whatever matmuls autocast leaves in fp32; free on Ampere and newer.
        tf32=True if cuda and torch.cuda.get_device_capability()[0] >= 8 else None,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        disable_tqdm=not show_progress,
        # Reading rows from Arrow and padding them costs tens of ms per 256-row batch on one CPU core,
        # more than a GPU step of a small model: on CUDA, worker processes prepare batches in parallel,
        # kept alive across epochs. On CPU they would only compete with training for the same cores.
        dataloader_num_workers=workers,
        dataloader_persistent_workers=workers > 0,
        dataloader_pin_memory=cuda,  # page-locked batches copy to the GPU asynchronously
        # Under torchrun on a machine without CUDA, accelerate only builds the gloo process group when
        # told to use the CPU; otherwise each process would train alone.
        use_cpu=processes > 1 and not cuda,
        # Sequence classifiers use every parameter in each forward pass, so DDP need not walk the autograd
        # graph each step looking for unused ones (torch warns about that cost on every rank); a model
        # that leaves some unused makes DDP stop with an error that says so.
        ddp_find_unused_parameters=False,
        log_level_replica="error",  # the Trainer resets replicas' logging to this at every fold
        # Off by default: compiling costs tens of seconds per fold (each fold is a fresh model, and
        # dynamic padding changes the shapes), more than a whole fold of MiniLM takes on a GPU.
        torch_compile=cfg.torch_compile,
        **gpu_only,
    )


def _loader_workers() -> int:
    import os

    per_process = (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(4, per_process - 1))


class FinetuneBackend:
    """Tokenises once for all folds; each fold fine-tunes a fresh model and predicts only its held-out rows."""

    def __init__(self, n_classes: int, seed: int, cfg, progress=None, class_names=None):
        self.n_classes, self.seed, self.cfg = n_classes, seed, resolve_train_config(cfg)
        per_device_batch_size(self.cfg.batch_size, world_size())  # fail before any work, not at fold 1
        self.class_names = class_names
        self.show_progress = progress is not None and getattr(progress, "bars", False)
        self.fold_metrics: list[dict] = []
        self.callbacks: list = []
        self.tokenizer = None
        self.encoded = None
        self.timings = {"tokenise": 0.0, "train": 0.0, "predict": 0.0}
        self.throughput = {"train_samples": 0.0, "train_tokens": 0.0}
        self.dynamics = None
        if self.cfg.dynamics_per_epoch:
            from .dynamics import DynamicsRecorder

            self.dynamics = DynamicsRecorder(self.cfg.dynamics_per_epoch, batch_size=self.cfg.batch_size * 4)
            self.callbacks.append(self.dynamics)

    def prepare(self, texts):
        import datasets

        if not self.show_progress:
            datasets.disable_progress_bars()
        started = time.perf_counter()
        self.tokenizer = load_tokenizer(self.cfg.model)
        ds = datasets.Dataset.from_dict({"text": list(texts)})
        # Truncate only: padding happens per batch in DataCollatorWithPadding, not to the longest text.
        self.encoded = ds.map(
            lambda b: self.tokenizer(b["text"], truncation=True, max_length=self.cfg.max_length),
            batched=True,
            remove_columns=["text"],
            desc="tokenise",
        )
        self.lengths = np.array([len(x) for x in self.encoded["input_ids"]])
        self.timings["tokenise"] += time.perf_counter() - started

    def fit_predict(self, train_idx, labels, test_idx):
        trainer = self.train(train_idx, labels)
        return self.predict(trainer, test_idx, labels)

    def fold_arrays(self, fold: int) -> dict:
        """What a resumed run needs from a finished fold besides its probabilities: its training dynamics."""
        return self.dynamics.fold_arrays(fold) if self.dynamics is not None else {}

    def restore_fold(self, fold: int, arrays: dict) -> None:
        if self.dynamics is not None:
            self.dynamics.restore_fold(fold, arrays)

    def train(self, train_idx, labels):
        """A Trainer whose fresh model has been fine-tuned on `train_idx` (DDP under torchrun)."""
        started = time.perf_counter()
        trainer = self._trainer(train_idx, labels)
        if self.dynamics is not None:
            self.dynamics.begin_fold(self.encoded, self.lengths, train_idx, labels, self.tokenizer)
        trainer.train()
        _synchronize()
        self.timings["train"] += time.perf_counter() - started
        self.throughput["train_samples"] += len(train_idx) * self.cfg.epochs
        self.throughput["train_tokens"] += float(self.lengths[train_idx].sum()) * self.cfg.epochs
        return trainer

    def _trainer(self, train_idx, labels):
        from transformers import DataCollatorWithPadding, Trainer, set_seed

        train = self.encoded.select(train_idx).add_column("labels", self._label_values(labels[train_idx]))
        self._tmp = tempfile.TemporaryDirectory(prefix="auditor-trainer-")
        args = training_arguments(self.cfg, self.seed, self._tmp.name, self.show_progress)
        # The new classification head is drawn from torch's generator, which earlier folds have moved:
        # seed it here so each fold starts the same whether or not earlier folds ran in this process
        # (a resumed run then equals an uninterrupted one).
        set_seed(self.seed)
        trainer = Trainer(
            model=self._classifier(),
            args=args,
            train_dataset=train,
            processing_class=self.tokenizer,
            # Lengths rounded up to a multiple of 8 keep bf16 matmuls (attention's inner dimension is the
            # sequence length) aligned for tensor cores; on CPU it would only add padding.
            data_collator=DataCollatorWithPadding(self.tokenizer, pad_to_multiple_of=8 if args.bf16 else None),
            compute_metrics=self.compute_metrics,
            callbacks=list(self.callbacks),
        )
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
        output = trainer.predict(held_out)
        self.fold_metrics.append({k: float(v) for k, v in output.metrics.items() if np.isscalar(v)})
        logits = np.asarray(output.predictions, dtype=np.float64)
        probs = np.empty_like(logits)
        probs[order] = self._probabilities(logits)
        self.last_model = trainer.model
        self._tmp.cleanup()
        self.timings["predict"] += time.perf_counter() - started
        return probs

    # Hooks a multi-label subclass (auditor.multilabel.finetune) replaces: labels, head, outputs, metrics.
    compute_metrics = staticmethod(compute_metrics)

    def _label_values(self, labels) -> list:
        return [int(x) for x in labels]

    def _classifier(self):
        return load_classifier(self.cfg.model, self.n_classes, self.class_names)

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        return _softmax(logits)

    def details(self):
        cfg = self.cfg
        train_s = self.timings["train"]
        return {
            "model": cfg.model, "epochs": cfg.epochs, "batch_size": cfg.batch_size,
            "learning_rate": cfg.learning_rate, "processes": world_size(), "folds": self.fold_metrics,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "train_samples_per_second": round(self.throughput["train_samples"] / train_s, 2) if train_s else None,
            "train_tokens_per_second": round(self.throughput["train_tokens"] / train_s, 1) if train_s else None,
        }


def _synchronize() -> None:
    """Wait for queued GPU work, so a stage's wall time includes it."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
