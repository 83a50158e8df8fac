"""Multi-label audits: label sets in, per-label out-of-sample probabilities, which label is probably
missing or spurious, a report and `apply` for sets. The shared code reaches it through a few marked hooks
(`config.RunConfig.task`, `pipeline.run`, `api.audit`, `result.load_run`, `summary`, `export`, `apply`)."""

from __future__ import annotations

__all__ = ["is_multilabel"]


def is_multilabel(config) -> bool:
    """--task multi-label, or --task auto where the data or the options are multi-label."""
    if config.task != "auto":
        return config.task == "multi-label"
    from .data import looks_multilabel

    return looks_multilabel(config.data)
