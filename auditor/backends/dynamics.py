"""Training dynamics: a `TrainerCallback` that measures every training row while the model learns.

At `per_epoch` evenly spaced points of each epoch (always including the epoch's end, and the end
of training), the callback runs the trainer's model over the fold's training rows (eval mode, no
gradients, rows sorted by length so batches pad little) and records, per row, the probability of
its given label, the margin (given-label logit − largest other logit, as in "area under the
margin") and whether the model predicts the given label. Rows are identified by their index in the
full dataset, never by the order a sampler produced. `auditor.scoring.dynamics` aggregates them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from transformers import TrainerCallback

__all__ = ["DynamicsRecorder", "RECORD_COLUMNS"]

RECORD_COLUMNS = ("row", "fold", "epoch", "p_given", "margin", "correct")


class DynamicsRecorder(TrainerCallback):
    """Call `begin_fold(...)` before each `trainer.train()`; `table()` returns every record so far."""

    def __init__(self, per_epoch: int = 1, batch_size: int = 128):
        if per_epoch < 1:
            raise ValueError(f"per_epoch must be >= 1. Got {per_epoch!r} instead.")
        self.per_epoch, self.batch_size = per_epoch, batch_size
        self.fold = -1
        self._records: list[pd.DataFrame] = []

    def begin_fold(self, encoded, lengths, train_idx, labels, tokenizer) -> None:
        """The fold's rows (indices into `encoded`, the tokenised full dataset) and all rows' labels."""
        order = np.argsort(np.asarray(lengths)[train_idx], kind="stable")
        self.fold += 1
        self._rows = np.asarray(train_idx, dtype=np.int64)[order]
        self._labels = np.asarray(labels, dtype=np.int64)[self._rows]
        self._data = encoded.select(self._rows)
        self._tokenizer = tokenizer
        self._last_mark, self._last_step = 0, -1

    def on_step_end(self, args, state, control, model=None, **kwargs):
        mark = int(np.floor(state.epoch * self.per_epoch + 1e-6))
        if mark > self._last_mark:
            self._last_mark = mark
            self._record(model, args, state)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self._last_step != state.global_step:  # a fractional last epoch ended between marks
            self._record(model, args, state)

    def table(self) -> pd.DataFrame:
        """One row per (training row, checkpoint): columns `RECORD_COLUMNS`."""
        if not self._records:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in RECORD_COLUMNS})
        return pd.concat(self._records, ignore_index=True)

    def _record(self, model, args, state) -> None:
        logits = self._logits(model, args)
        given = logits[np.arange(len(logits)), self._labels]
        others = logits.copy()
        others[np.arange(len(logits)), self._labels] = -np.inf
        z = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        self._records.append(
            pd.DataFrame(
                {
                    "row": self._rows,
                    "fold": self.fold,
                    "epoch": float(state.epoch),
                    "p_given": probs[np.arange(len(logits)), self._labels],
                    "margin": given - others.max(axis=1),
                    "correct": logits.argmax(axis=1) == self._labels,
                }
            )
        )
        self._last_step = state.global_step

    def _logits(self, model, args) -> np.ndarray:
        import torch

        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        chunks = []
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(args.bf16))
        try:
            with torch.no_grad(), autocast:
                for start in range(0, len(self._rows), self.batch_size):
                    batch = self._tokenizer.pad(self._data[start : start + self.batch_size], return_tensors="pt")
                    output = model(**{k: v.to(device) for k, v in batch.items()})
                    chunks.append(output.logits.float().cpu().numpy())
        finally:
            model.train(was_training)
        return np.concatenate(chunks).astype(np.float64)
