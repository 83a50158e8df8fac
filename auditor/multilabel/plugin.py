"""Registers the multi-label task's hooks in the shared code (looked up by name: result.TASK_PLUGINS)."""

from __future__ import annotations

from .. import pipeline, result
from ..annotate import apply
from .apply import apply_multilabel_corrections
from .pipeline import run_multilabel
from .result import MultiLabelResult

result.RESULT_CLASSES["multi-label"] = MultiLabelResult
pipeline.TASK_RUNNERS["multi-label"] = run_multilabel
apply.TASK_APPLIERS["multi-label"] = apply_multilabel_corrections
