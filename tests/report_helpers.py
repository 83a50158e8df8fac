"""Run folders for the report tests, built in-process with the fast tfidf backend."""

from __future__ import annotations

from pathlib import Path

from auditor.config import DataConfig, RunConfig
from auditor.pipeline import run

HOSTILE_TEXTS = [
    "<script>alert(1)</script>",
    '"onmouseover=alert(2) x="',
    "javascript:alert(3)",
    "</script><script>alert(4)</script>",
    "<img src=x onerror=alert(5)>",
    "<!-- --> ]]> & &amp; \u2028 line",
]
HOSTILE_CLASS = 'food"><img src=x onerror=alert(6)>'


def build_run(data_path: Path, out: Path, **options) -> Path:
    """Audit `data_path` with tfidf (3 folds) into `out`; returns `out`."""
    data = DataConfig(source=str(data_path), **options.pop("data", {}))
    config = RunConfig(data=data, method="tfidf", folds=3, out=str(out), quiet=True, command="test", **options)
    run(config)
    return out
