"""Which process this is when a run is launched by `torchrun` or `accelerate launch`; which folds each
process takes when folds run in parallel instead (`--parallel-folds`).

Every process loads and validates the data, splits the folds and tokenises identically; the `Trainer`
turns each fold's training into DDP and gathers every process's predictions, so all processes end with
the same probabilities. Only the main process (global rank 0) writes the run folder and prints.
The launchers describe the process through environment variables, so reading them needs no
process group and works before the `Trainer` creates one.
"""

from __future__ import annotations

import os

__all__ = ["world_size", "rank", "local_rank", "is_main_process", "silence_replica", "silence_libraries", "finish",
           "fold_shares"]


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    return rank() == 0


def silence_replica(quiet: bool = False) -> None:
    """On processes other than the main one (and on every process with --quiet), mute the libraries."""
    if quiet or not is_main_process():
        silence_libraries()


def silence_libraries() -> None:
    """Mute library logging (the model-loading report among it), progress bars and warnings."""
    import warnings

    import datasets
    import transformers

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def finish() -> None:
    """Leave the process group the `Trainer` created (torch warns at exit if it is left open)."""
    if world_size() <= 1:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def fold_shares(folds, workers: int) -> list[list[int]]:
    """The folds each of `workers` processes trains under --parallel-folds (one process per GPU), as an
    alternative to DDP within each fold: round-robin, so that shares differ by one fold at most and every
    worker starts at once. Folds are independent (each seeds its own model and sampler), so where a fold
    runs does not change its result; the caller puts each fold's held-out rows back in row order."""
    folds = list(folds)
    if workers < 1:
        raise ValueError(f"workers must be >= 1. Got {workers!r} instead.")
    return [folds[w::workers] for w in range(min(workers, len(folds)))]
