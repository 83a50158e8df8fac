"""`run_multilabel(config)`: load label sets → k-fold per-label probabilities → scores → run folder."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from ..config import RunConfig, parse_method, parse_signals
from ..errors import DataError, OptionError
from .backend import ML_METHODS, out_of_sample_multilabel
from .data import MultiLabelData, load_multilabel
from .metrics import multilabel_metrics
from .result import MultiLabelResult
from .scoring import score_multilabel

__all__ = ["run_multilabel", "audit_multilabel", "resolve_multilabel_method"]

_DEFAULT_SIGNALS = ("duplicates", "outliers")


def resolve_multilabel_method(config: RunConfig) -> tuple[str, ...]:
    """'auto': `tfidf` on CPU, `finetune+tfidf` on a CUDA GPU (as single-label); else backends joined by '+'."""
    methods = _check_method(config)
    if methods == ("auto",):
        from ..device import device

        return ("finetune", "tfidf") if device() == "cuda" else ("tfidf",)
    return methods


def _check_method(config: RunConfig) -> tuple[str, ...]:
    methods = parse_method(config.method)
    bad = [m for m in methods if m not in ML_METHODS and m != "auto"]
    if bad:
        raise OptionError(f"The 'method' option for multi-label data must be auto or from {', '.join(ML_METHODS)} "
                          f"joined by '+'. Got {config.method!r} instead.")
    return methods


def check_multilabel_options(config: RunConfig) -> None:
    """What a multi-label run does not do (yet), refused before any work."""
    refused = [("pred_probs", "--pred-probs"), ("train_data", "--train-data"), ("resume", "--resume")]
    for attr, option in refused:
        if getattr(config, attr):
            raise OptionError(f"The '{option.lstrip('-')}' option is not available for multi-label data yet; "
                              "run without it.")
    _check_method(config)
    if config.save_model or config.push_to_hub:
        from ..final_model import check_model_options

        check_model_options(config, resolve_multilabel_method(config))
    if config.signals:
        multilabel_signals(config, resolve_multilabel_method(config))


def multilabel_signals(config: RunConfig, methods) -> tuple[str, ...]:
    """--signals, else duplicates, outliers and (where the method fine-tunes) dynamics, as single-label."""
    chosen = parse_signals(config.signals)
    possible = _DEFAULT_SIGNALS + (("dynamics",) if "finetune" in methods else ())
    if chosen is None:
        return possible
    if "dynamics" in chosen and "dynamics" not in possible and config.signals != "all":
        raise OptionError("The 'signals' option 'dynamics' needs a method that fine-tunes (--method finetune or "
                          "finetune+tfidf): training dynamics are recorded while the model learns. "
                          f"Got method {'+'.join(methods)!r} instead.")
    return tuple(s for s in chosen if s in possible)


def run_multilabel(config: RunConfig, progress) -> tuple[MultiLabelResult, Path]:
    from ..distributed import world_size
    from ..pipeline import check_inputs_outside, default_out_dir
    from ..rundir import check_out_dir

    check_multilabel_options(config)
    if world_size() > 1:
        raise OptionError("Multi-label audits run in one process; launch without torchrun.")
    started = time.perf_counter()
    data = load_multilabel(config.data)
    load_s = time.perf_counter() - started
    out = Path(config.out) if config.out else default_out_dir(data.name)
    check_inputs_outside(out, config)
    check_out_dir(out, config.overwrite)
    result = audit_multilabel(data, config, progress, load_s=load_s)
    result.save(out, overwrite=config.overwrite)
    if config.save_model:
        from ..final_model import save_final_model
        from .finetune import MultiLabelFinetune

        save_final_model(data, config, result, out, progress, backend_class=MultiLabelFinetune,
                         model_settings={"auditor_label_separator": data.separator})
    return result, out


def audit_multilabel(data: MultiLabelData, config: RunConfig, progress=None, load_s: float = 0.0) -> MultiLabelResult:
    """Probabilities, scores and metrics for loaded multi-label data (shared by the CLI and `audit`)."""
    from ..pipeline import Progress, _run_info

    check_multilabel_options(config)
    if len(data) < 2 * config.folds:
        raise DataError(f"{data.source}: {len(data)} rows; a {config.folds}-fold audit needs at least "
                        f"{2 * config.folds} (lower --folds or add rows).")
    progress = progress or Progress(config.quiet)
    methods = resolve_multilabel_method(config)
    signals = multilabel_signals(config, methods)
    per_epoch = (config.train.dynamics_per_epoch or 1) if "dynamics" in signals else 0
    train = dataclasses.replace(config.train, dynamics_per_epoch=per_epoch)
    progress(f"{len(data)} rows, {len(data.class_names)} labels (multi-label, "
             f"{data.labels.sum(axis=1).mean():.2f} per row); method {'+'.join(methods)}")
    timings = {"load": round(load_s, 3)}
    started = time.perf_counter()
    probs, folds, details, dynamics = out_of_sample_multilabel(data.texts, data.labels, methods, config.folds,
                                                               config.seed, train, progress, data.class_names)
    timings["probabilities"] = round(time.perf_counter() - started, 3)
    scored = time.perf_counter()
    scores = score_multilabel(data, probs, signals=[s for s in signals if s != "dynamics"],
                              duplicate_threshold=config.duplicate_threshold, seed=config.seed, dynamics=dynamics)
    scores["fold"] = folds
    timings["score"] = round(time.perf_counter() - scored, 3)
    metrics = multilabel_metrics(data.labels, probs, data.class_names, scores["is_label_issue"].to_numpy())
    metrics.update(method="+".join(methods), model=config.train.model if "finetune" in methods else None,
                   folds=config.folds, seed=config.seed, backend_details=details, signals=["label_quality", *signals],
                   truncated_texts=data.truncated)
    metrics["timings"] = dict(timings, total=round(load_s + time.perf_counter() - started, 3))
    run = _run_info(config, data, methods)
    run["task"] = "multi-label"
    run["data"].update(form=data.form, separator=data.separator, label_columns=list(data.label_columns),
                       label_names=config.data.label_names, column_names=config.data.column_names,
                       ids_as_names=data.ids_as_names)
    return MultiLabelResult(scores, metrics, run, data.class_names)
