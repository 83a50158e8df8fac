#!/usr/bin/env python
"""The book's single fine-tune vs auditor's 5-fold fine-tune audit, in one process on one device.

(a) Chapter 2 of "Natural Language Processing with Transformers" as written, with only its API names
    brought up to date (`eval_strategy`, `processing_class`) and `push_to_hub` off (no network): tokenise
    the split with `padding=True` in one batch (every text padded to the split's longest), fp32, batch 64,
    2 epochs, lr 2e-5, weight decay 0.01, evaluation every epoch, then predict the validation split and run
    the book's per-example loss pass over it (batch 16), its error analysis.
(b) `auditor`'s k-fold fine-tune of the same training split through the package's own functions
    (`load_data`, `audit_data`, `AuditResult.save`), with the package's settings for the device.

Prints wall time per stage, training samples/s and tokens/s (non-padding tokens), peak GPU memory, the
accuracies ((a) on the validation split, (b) out-of-sample on the training split) and the ratio of
(b)'s total time to (a)'s fine-tune (tokenise + train + predict), and writes them as JSON. The JSON file
is rewritten after each of (a)'s stages and each of (b)'s folds (`"complete": false` until the end), so
a run cut off by a time limit still reports what it finished.

    python benchmarks/gpu_speed.py --device cuda                       # the full emotion split on a GPU
    python benchmarks/gpu_speed.py --device cpu --limit 400 --epochs 1  # a small CPU stand-in
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--limit", type=int, help="stratified subset of N training rows (and N/8 validation rows)")
    p.add_argument("--model", help="default: the packaged all-MiniLM-L6-v2")
    p.add_argument("--epochs", type=float, help="for both pipelines (default: the book's 2 for (a), the "
                   "package's device default for (b))")
    p.add_argument("--audit-epochs", type=float, help="(b) only, overriding --epochs")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--batch-size", type=int, help="(b) only; default: the package's device default")
    p.add_argument("--learning-rate", type=float, help="(b) only; default: the package's device default")
    p.add_argument("--train", default=str(EXAMPLES / "emotion_train.txt"))
    p.add_argument("--validation", default=str(EXAMPLES / "emotion_validation.txt"))
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--keep-run", help="write (b)'s run folder here instead of a temporary folder")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------- data


def load_splits(args):
    """(train, validation) as auditor AuditData, subset by --limit with the class shares kept."""
    from auditor.config import DataConfig
    from auditor.data import from_frame, load_data

    train = load_data(DataConfig(source=args.train))
    validation = load_data(DataConfig(source=args.validation))
    if args.limit:
        train = from_frame(_stratified(train.frame, args.limit), DataConfig(source=args.train))
        validation = from_frame(_stratified(validation.frame, max(args.limit // 8, 60)),
                                DataConfig(source=args.validation))
    return train, validation


def _stratified(frame, n):
    from sklearn.model_selection import train_test_split

    if n >= len(frame):
        return frame
    keep, _ = train_test_split(frame, train_size=n, stratify=frame["label"], random_state=0)
    return keep.reset_index(drop=True)


# ------------------------------------------------------------------------------------------ (a) book


def book_pipeline(train, validation, model_path, epochs, device, on_stage=None):
    """Chapter 2's fine-tune; returns stage times, throughput and validation accuracy. `on_stage(stages)` is
    called after each stage with the times so far."""
    import datasets
    import numpy as np
    import torch
    from sklearn.metrics import accuracy_score, f1_score
    from torch.nn.functional import cross_entropy
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    names = list(train.class_names)
    index = {c: i for i, c in enumerate(names)}
    val_labels = [index[validation.class_names[i]] for i in validation.labels]
    emotions = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"text": list(train.texts), "label": train.labels.tolist()}),
        "validation": datasets.Dataset.from_dict({"text": list(validation.texts), "label": val_labels}),
    })
    stages, out = {}, {}
    cpu_started = time.process_time()
    tokenizer = AutoTokenizer.from_pretrained(model_path)

    def tokenize(batch):
        return tokenizer(batch["text"], padding=True, truncation=True)

    with _Stage(stages, "tokenise", device, on_stage):
        emotions_encoded = emotions.map(tokenize, batched=True, batch_size=None)

    def compute_metrics(pred):
        labels = pred.label_ids
        preds = pred.predictions.argmax(-1)
        f1 = f1_score(labels, preds, average="weighted")
        acc = accuracy_score(labels, preds)
        return {"accuracy": acc, "f1": f1}

    batch_size = 64
    logging_steps = len(emotions_encoded["train"]) // batch_size
    with tempfile.TemporaryDirectory(prefix="book-") as output_dir, _Stage(stages, "train", device, on_stage):
        # dtype: the book's checkpoint is stored in fp32; a half-precision copy (the one carried to the GPU
        # machine) must be loaded as fp32 too, or transformers 5 would train it in fp16.
        model = AutoModelForSequenceClassification.from_pretrained(
            model_path, num_labels=len(names), dtype=torch.float32).to(device)
        training_args = TrainingArguments(
            output_dir=output_dir, num_train_epochs=epochs, learning_rate=2e-5,
            per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size, weight_decay=0.01,
            eval_strategy="epoch", disable_tqdm=True, logging_steps=logging_steps, push_to_hub=False,
            log_level="error", report_to="none",
        )
        trainer = Trainer(model=model, args=training_args, compute_metrics=compute_metrics,
                          train_dataset=emotions_encoded["train"], eval_dataset=emotions_encoded["validation"],
                          processing_class=tokenizer)
        trainer.train()
    with _Stage(stages, "predict", device, on_stage):
        preds_output = trainer.predict(emotions_encoded["validation"])
    out["validation_accuracy"] = float(preds_output.metrics["test_accuracy"])
    out["finetune_cpu_s"] = round(time.process_time() - cpu_started, 3)

    def forward_pass_with_label(batch):
        inputs = {k: v.to(device) for k, v in batch.items() if k in tokenizer.model_input_names}
        with torch.no_grad():
            output = model(**inputs)
            pred_label = torch.argmax(output.logits, axis=-1)
            loss = cross_entropy(output.logits, batch["label"].to(device), reduction="none")
        return {"loss": loss.cpu().numpy(), "predicted_label": pred_label.cpu().numpy()}

    with _Stage(stages, "score", device, on_stage):
        emotions_encoded.set_format("torch", columns=["input_ids", "attention_mask", "label"])
        emotions_encoded["validation"].map(forward_pass_with_label, batched=True, batch_size=16)
    stages["report"] = 0.0
    out["total_cpu_s"] = round(time.process_time() - cpu_started, 3)
    mask = np.asarray(emotions_encoded["train"]["attention_mask"])
    out.update(_throughput(len(train) * epochs, float(mask.sum()) * epochs, stages["train"]))
    out["padded_length"] = int(mask.shape[1])
    out["train_steps"] = int(trainer.state.global_step)
    return stages, out


# --------------------------------------------------------------------------------------- (b) auditor


def auditor_pipeline(train, args, model_path, device, out_dir, on_fold=None):
    """The package's k-fold fine-tune audit of the training split; returns stage times and accuracy.
    `on_fold(finished)` is called as each fold ends, with the folds finished so far."""
    from auditor.config import DataConfig, RunConfig, TrainConfig
    from auditor.pipeline import audit_data

    train_cfg = TrainConfig(model=model_path, epochs=args.audit_epochs or args.epochs, batch_size=args.batch_size,
                            learning_rate=args.learning_rate)
    config = RunConfig(data=DataConfig(source=args.train), train=train_cfg, method="finetune", folds=args.folds,
                       quiet=True, command="benchmarks/gpu_speed.py")
    stages = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    result = audit_data(train, config, fold_cache=_FoldLog(started, on_fold))
    with _Stage(stages, "report", device):
        result.save(out_dir, overwrite=True)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    details = result.metrics["backend_details"]["finetune"]
    stages = {**details["timings"], "score": result.metrics["timings"]["score"], "report": stages["report"]}
    epochs = details["epochs"]
    samples = (args.folds - 1) * len(train) * epochs  # each row trains k-1 of the k models
    out = {
        "out_of_sample_accuracy": float(result.metrics["accuracy"]),
        "settings": {k: details[k] for k in ("epochs", "batch_size", "learning_rate", "processes")},
        "other_s": round(total - sum(stages.values()), 3),
        "total_s": round(total, 3),
        "total_cpu_s": round(cpu, 3),
        "train_samples_per_s": details["train_samples_per_second"],
        "train_tokens_per_s": details["train_tokens_per_second"],
        "train_samples": samples,
    }
    return stages, out


class _FoldLog:
    """Passed to `audit_data` as its fold cache: it keeps nothing (every fold is trained), but hears of each
    fold as it ends, the one place the package says so while the audit runs."""

    def __init__(self, started, on_fold=None):
        self.started, self.on_fold, self.finished = started, on_fold, []

    def get(self, backend, key):
        return None

    def put(self, backend, key, probs, **arrays):
        self.finished.append({"fold": f"{backend}-{key}", "rows": len(probs),
                              "at_s": round(time.perf_counter() - self.started, 3)})
        if self.on_fold:
            self.on_fold(list(self.finished))


# ------------------------------------------------------------------------------------------ helpers


class _Stage:
    """Adds a block's wall time to `stages[name]`, waiting for queued GPU work at both ends; then calls
    `after(stages)`."""

    def __init__(self, stages, name, device, after=None):
        self.stages, self.name, self.device, self.after = stages, name, device, after

    def __enter__(self):
        _sync(self.device)
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        _sync(self.device)
        self.stages[self.name] = round(self.stages.get(self.name, 0.0) + time.perf_counter() - self.start, 3)
        if self.after and exc[0] is None:
            self.after(dict(self.stages))


def _sync(device):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _throughput(samples, tokens, seconds):
    return {"train_samples_per_s": round(samples / seconds, 2), "train_tokens_per_s": round(tokens / seconds, 1)}


def _peak_memory_mb(device):
    import torch

    if device != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


def _reset_peak_memory(device):
    import torch

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def warm_up(model_path, device):
    """CUDA context, cuBLAS handles and the model files in the page cache, so neither run pays for them."""
    import torch
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=2).to(device)
    if device == "cuda":
        x = torch.randn(256, 256, device=device)
        (x @ x).sum().item()
        # The book runs fp32 as PyTorch ships it: no TF32. (b) turns TF32 on for itself later.
        torch.backends.cuda.matmul.allow_tf32 = False


def machine(device):
    import torch
    import transformers

    info = {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "cpu_count": os.cpu_count(), "device": device,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["capability"] = list(torch.cuda.get_device_capability())
    return info


def run(args):
    from auditor.config import default_model

    device = args.device or ("cuda" if _cuda_available() else "cpu")
    model_path = args.model or default_model()
    train, validation = load_splits(args)
    res = {"machine": machine(device), "command": "python " + " ".join(sys.argv),
           "rows": {"train": len(train), "validation": len(validation)}, "model": model_path, "complete": False}
    warm_up(model_path, device)
    _reset_peak_memory(device)

    def report(part, **found):  # a run cut off later still reports what it finished
        res[part] = found
        _write_json(args.json, res)

    book_stages, book = book_pipeline(train, validation, model_path, args.epochs or 2.0, device,
                                      on_stage=lambda stages: report("book", stages_s=stages))
    book["peak_gpu_memory_mb"] = _peak_memory_mb(device)
    book_finetune = sum(book_stages[k] for k in ("tokenise", "train", "predict"))
    book_total = sum(book_stages.values())
    res["book"] = {"stages_s": book_stages, "finetune_s": round(book_finetune, 3), "total_s": round(book_total, 3),
                   **book}
    _write_json(args.json, res)
    _reset_peak_memory(device)
    finished = []

    def on_fold(folds):
        finished[:] = folds
        report("auditor", finished_folds=folds)

    with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
        out_dir = Path(args.keep_run) if args.keep_run else Path(tmp) / "run"
        audit_stages, audit = auditor_pipeline(train, args, model_path, device, out_dir, on_fold)
    audit["peak_gpu_memory_mb"] = _peak_memory_mb(device)
    return {
        **res,
        "complete": True,
        "auditor": {"stages_s": audit_stages, **audit, "finished_folds": finished},
        "ratio_auditor_to_book_finetune": round(audit["total_s"] / book_finetune, 3),
        "ratio_auditor_to_book_with_error_analysis": round(audit["total_s"] / book_total, 3),
        # CPU seconds of this process: on a shared CPU the load changes between (a) and (b), which skews
        # the wall-time ratio but not this one (DataLoader workers, used only on CUDA, are not counted).
        "cpu_time_ratio_auditor_to_book_finetune": round(audit["total_cpu_s"] / book["finetune_cpu_s"], 3),
    }


def _write_json(path, res) -> None:
    if path:
        tmp = Path(f"{path}.tmp")
        tmp.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def _cuda_available():
    import torch

    return torch.cuda.is_available()


def print_table(res):
    book, audit = res["book"], res["auditor"]
    print(f"{res['rows']['train']} training rows, {res['rows']['validation']} validation rows; "
          f"device {res['machine'].get('gpu', res['machine']['device'])}")
    print(f"{'stage (s)':<12}{'(a) book':>10}{'(b) auditor':>13}")
    for stage in ("tokenise", "train", "predict", "score", "report"):
        print(f"{stage:<12}{book['stages_s'].get(stage, 0):>10.2f}{audit['stages_s'].get(stage, 0):>13.2f}")
    print(f"{'other':<12}{0:>10.2f}{audit['other_s']:>13.2f}")
    print(f"{'total':<12}{book['total_s']:>10.2f}{audit['total_s']:>13.2f}")
    print(f"train samples/s  {book['train_samples_per_s']:>10}{audit['train_samples_per_s']:>13}")
    print(f"train tokens/s   {book['train_tokens_per_s']:>10}{audit['train_tokens_per_s']:>13}  (non-padding)")
    print(f"peak GPU MiB     {book['peak_gpu_memory_mb']!s:>10}{audit['peak_gpu_memory_mb']!s:>13}")
    print(f"accuracy         {book['validation_accuracy']:>10.3f}{audit['out_of_sample_accuracy']:>13.3f}"
          "  ((a) validation split, (b) out-of-sample on the training split)")
    print(f"(b) settings: {audit['settings']}")
    print(f"ratio (b) total / (a) fine-tune: {res['ratio_auditor_to_book_finetune']:.2f}; "
          f"/ (a) with its error analysis: {res['ratio_auditor_to_book_with_error_analysis']:.2f}; "
          f"process CPU time (b) / (a) fine-tune: {res['cpu_time_ratio_auditor_to_book_finetune']:.2f}")


def main(argv=None):
    args = parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch is imported, so nothing picks up a GPU
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    if args.device == "cuda" and not _cuda_available():
        sys.exit("gpu_speed: --device cuda, but torch sees no CUDA device")
    res = run(args)
    print_table(res)
    print(json.dumps(res, indent=2))
    _write_json(args.json, res)


if __name__ == "__main__":
    main()
