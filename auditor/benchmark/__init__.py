"""The detection benchmark: plant label noise (`noise`), run each method on it (`runner`), tabulate (`tables`)."""

from .noise import NOISE_MODES, calibration_metrics, detection_metrics, flip_labels
from .runner import (METHODS, NOISE_SETTINGS, SIGNALS, SOURCES, Method, bench, duplicate_conflicts,
                     run_benchmark, select_methods, stratified_subset)
from .tables import markdown_table, summarize, write_results

__all__ = ["NOISE_MODES", "flip_labels", "detection_metrics", "calibration_metrics", "NOISE_SETTINGS", "SOURCES",
           "SIGNALS", "METHODS", "Method", "run_benchmark", "select_methods", "stratified_subset", "summarize",
           "duplicate_conflicts", "bench", "markdown_table", "write_results"]
