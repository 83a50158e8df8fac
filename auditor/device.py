"""Which device the models run on: one answer for the backends, the run facts and `predict`."""

from __future__ import annotations

import sys

__all__ = ["device", "device_name"]


def device() -> str:
    """"cuda" when a CUDA GPU is usable, else "cpu" (the torch device string)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_name() -> str:
    """The GPU's name for run.json, or "cpu"; never imports torch (that costs seconds): only a run that
    used torch can have used a GPU."""
    torch = sys.modules.get("torch")
    return torch.cuda.get_device_name(0) if torch is not None and torch.cuda.is_available() else "cpu"
