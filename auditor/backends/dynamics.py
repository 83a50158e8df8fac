"""Training dynamics: a `TrainerCallback` that measures every training row while the model learns.

At `per_epoch` evenly spaced points of each epoch (always including the epoch's end, and the end
of training), the callback runs the trainer's model over the fold's training rows (eval mode, no
gradients) and records, per row, the probability of
its given label, the margin (given-label logit − largest other logit, as in "area under the
margin") and whether the model predicts the given label. Rows are identified by their index in the
full dataset, never by the order a sampler produced. `auditor.scoring.dynamics` aggregates them.

The fold's rows are sorted by length and padded into batches once, when the fold begins (rounded up to
a multiple of 8 on a GPU, like the training batches): each pass then only copies tensors to the device,
instead of slicing Arrow and padding in the main process while the GPU waits. Under DDP each process
runs every `world`-th batch and the logits are gathered, so no pass is repeated on every process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from transformers import TrainerCallback

__all__ = ["DynamicsRecorder", "RECORD_COLUMNS"]

RECORD_COLUMNS = ("row", "fold", "epoch", "p_given", "margin", "correct")


class DynamicsRecorder(TrainerCallback):
    """Call `begin_fold(...)` before each `trainer.train()`; `table()` returns every record so far.

    A subclass for other label kinds (auditor.multilabel.finetune) replaces `columns` and `_measure`."""

    columns = RECORD_COLUMNS

    def __init__(self, per_epoch: int = 1, batch_size: int = 128):
        if per_epoch < 1:
            raise ValueError(f"per_epoch must be >= 1. Got {per_epoch!r} instead.")
        self.per_epoch, self.batch_size = per_epoch, batch_size
        self.fold = -1
        self._records: list[pd.DataFrame] = []

    def begin_fold(self, encoded, lengths, train_idx, labels, tokenizer, pad_to_multiple_of=None) -> None:
        """The fold's rows (indices into `encoded`, the tokenised full dataset) and all rows' labels."""
        order = np.argsort(np.asarray(lengths)[train_idx], kind="stable")
        self.fold += 1
        self._rows = np.asarray(train_idx, dtype=np.int64)[order]
        self._labels = np.asarray(labels, dtype=np.int64)[self._rows]
        self.batches = padded_batches(encoded.select(self._rows), tokenizer, self.batch_size, pad_to_multiple_of)
        self._last_mark, self._last_step = 0, -1

    def on_step_end(self, args, state, control, model=None, **kwargs):
        mark = int(np.floor(state.epoch * self.per_epoch + 1e-6))
        if mark > self._last_mark:
            self._last_mark = mark
            self._record(model, args, state)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self._last_step != state.global_step:  # a fractional last epoch ended between marks
            self._record(model, args, state)
        self.batches = None  # the fold's padded copy of its rows

    def fold_arrays(self, fold: int) -> dict:
        """One fold's records as arrays, cached with the fold so that a resumed run keeps them."""
        records = self.table()
        records = records[records["fold"] == fold]
        return {f"dynamics_{c}": records[c].to_numpy() for c in self.columns}

    def restore_fold(self, fold: int, arrays: dict) -> None:
        """Take back a cached fold's records; the next fold trained is numbered after it."""
        if "dynamics_row" in arrays:
            self._records.append(pd.DataFrame({c: arrays[f"dynamics_{c}"] for c in self.columns}))
        self.fold = fold

    def table(self) -> pd.DataFrame:
        """One row per (training row, checkpoint): columns `self.columns`."""
        if not self._records:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in self.columns})
        return pd.concat(self._records, ignore_index=True)

    def _record(self, model, args, state) -> None:
        measures = self._measure(self._logits(model, args), self._labels)
        self._records.append(
            pd.DataFrame({"row": self._rows, "fold": self.fold, "epoch": float(state.epoch), **measures})
        )
        self._last_step = state.global_step

    @staticmethod
    def _measure(logits: np.ndarray, labels: np.ndarray) -> dict:
        """Per row: p_given, margin and correct (`RECORD_COLUMNS` after row, fold, epoch)."""
        rows = np.arange(len(logits))
        given = logits[rows, labels]
        others = logits.copy()
        others[rows, labels] = -np.inf
        z = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return {"p_given": probs[rows, labels], "margin": given - others.max(axis=1),
                "correct": logits.argmax(axis=1) == labels}

    def _logits(self, model, args) -> np.ndarray:
        import torch

        from ..distributed import rank, world_size

        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        half = torch.bfloat16 if args.bf16 else torch.float16
        autocast = torch.autocast(device.type, dtype=half, enabled=bool(args.bf16 or args.fp16))
        mine = range(rank(), len(self.batches), world_size())
        chunks = []
        try:
            with torch.no_grad(), autocast:
                for i in mine:
                    batch = {k: v.to(device, non_blocking=True) for k, v in self.batches[i].items()}
                    chunks.append(model(**batch).logits.float())
            # One copy back (and one sync) per pass instead of one per batch.
            chunks = [c.cpu().numpy() for c in chunks]
        finally:
            model.train(was_training)
        return np.concatenate(_gather_in_order(list(mine), chunks, len(self.batches))).astype(np.float64)


def padded_batches(rows, tokenizer, batch_size: int, pad_to_multiple_of=None) -> list[dict]:
    """`rows` (a tokenised Dataset, already in the order wanted) as padded tensor batches, read once."""
    import torch

    columns = {k: rows[k] for k in rows.column_names}  # one read of each column, not one per batch
    pin = torch.cuda.is_available()  # page-locked, so the copies to the GPU can be asynchronous
    batches = []
    for start in range(0, len(rows), batch_size):
        features = {k: v[start : start + batch_size] for k, v in columns.items()}
        batch = tokenizer.pad(features, pad_to_multiple_of=pad_to_multiple_of, return_tensors="pt")
        batches.append({k: v.pin_memory() if pin else v for k, v in batch.items()})
    return batches


def _gather_in_order(mine: list[int], chunks: list, n_batches: int) -> list:
    """Every process's logits, in batch order, on every process (under DDP each computed every world-th batch)."""
    from ..distributed import world_size

    if world_size() == 1:
        return chunks
    import torch.distributed as dist

    shares = [None] * world_size()
    dist.all_gather_object(shares, (mine, chunks))
    by_batch = {i: c for indices, cs in shares for i, c in zip(indices, cs)}
    return [by_batch[i] for i in range(n_batches)]
