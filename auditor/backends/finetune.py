"""k-fold fine-tuning of a transformer classifier with the Hugging Face `Trainer`."""

from __future__ import annotations

import tempfile

import numpy as np

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


def load_classifier(model: str, n_classes: int, class_names=None):
    from transformers import AutoModelForSequenceClassification

    names = list(class_names) if class_names else [str(i) for i in range(n_classes)]
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            model,
            num_labels=n_classes,
            id2label=dict(enumerate(names)),
            label2id={n: i for i, n in enumerate(names)},
        )
    except Exception as exc:
        raise OptionError(f"--model {model!r}: cannot load it as a classifier: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def training_arguments(cfg, seed: int, output_dir: str, show_progress: bool):
    import torch
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size,
        # Prediction needs no gradients, so much larger batches fit.
        per_device_eval_batch_size=cfg.batch_size * 4,
        weight_decay=cfg.weight_decay,
        warmup_steps=0.1,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        seed=seed,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        tf32=True if cuda and torch.cuda.get_device_capability()[0] >= 8 else None,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        disable_tqdm=not show_progress,
        dataloader_num_workers=0,
    )


class FinetuneBackend:
    """Tokenises once for all folds; each fold fine-tunes a fresh model and predicts only its held-out rows."""

    def __init__(self, n_classes: int, seed: int, cfg, progress=None, class_names=None):
        self.n_classes, self.seed, self.cfg = n_classes, seed, cfg
        self.class_names = class_names
        self.show_progress = progress is not None and getattr(progress, "bars", False)
        self.fold_metrics: list[dict] = []
        self.callbacks: list = []
        self.tokenizer = None
        self.encoded = None
        self.dynamics = None
        if getattr(cfg, "dynamics_per_epoch", 0):
            from .dynamics import DynamicsRecorder

            self.dynamics = DynamicsRecorder(cfg.dynamics_per_epoch, batch_size=cfg.batch_size * 4)
            self.callbacks.append(self.dynamics)

    def prepare(self, texts):
        import datasets

        if not self.show_progress:
            datasets.disable_progress_bars()
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

    def fit_predict(self, train_idx, labels, test_idx):
        trainer = self._trainer(train_idx, labels)
        if self.dynamics is not None:
            self.dynamics.begin_fold(self.encoded, self.lengths, train_idx, labels, self.tokenizer)
        trainer.train()
        return self._predict(trainer, test_idx, labels)

    def _trainer(self, train_idx, labels):
        from transformers import DataCollatorWithPadding, Trainer

        train = self.encoded.select(train_idx).add_column("labels", [int(x) for x in labels[train_idx]])
        self._tmp = tempfile.TemporaryDirectory(prefix="auditor-trainer-")
        trainer = Trainer(
            model=load_classifier(self.cfg.model, self.n_classes, self.class_names),
            args=training_arguments(self.cfg, self.seed, self._tmp.name, self.show_progress),
            train_dataset=train,
            processing_class=self.tokenizer,
            data_collator=DataCollatorWithPadding(self.tokenizer),
            compute_metrics=compute_metrics,
            callbacks=list(self.callbacks),
        )
        if not self.show_progress:
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)  # it prints a metrics dict per run to stdout
        return trainer

    def _predict(self, trainer, test_idx, labels):
        # With group_by_length the Trainer also length-groups its *prediction* sampler, which shuffles
        # the output rows. Predict sequentially, over rows we sorted by length ourselves, then undo the sort.
        trainer.args.train_sampling_strategy = "random"
        order = np.argsort(self.lengths[test_idx], kind="stable")
        rows = np.asarray(test_idx)[order]
        held_out = self.encoded.select(rows).add_column("labels", [int(x) for x in labels[rows]])
        output = trainer.predict(held_out)
        self.fold_metrics.append({k: float(v) for k, v in output.metrics.items() if np.isscalar(v)})
        logits = np.asarray(output.predictions, dtype=np.float64)
        probs = np.empty_like(logits)
        probs[order] = _softmax(logits)
        self.last_model = trainer.model
        self._tmp.cleanup()
        return probs

    def details(self):
        return {"model": self.cfg.model, "epochs": self.cfg.epochs, "folds": self.fold_metrics}


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
