"""`run_multilabel(config)`: load label sets → k-fold per-label probabilities → scores → run folder."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..backends import Plan, resolve_backends
from ..config import DataConfig, RunConfig, parse_method, parse_signals
from ..errors import DataError, OptionError
from .backend import (_EPS, ML_METHODS, multilabel_backend_class, out_of_sample_multilabel,
                      train_and_predict_multilabel)
from .data import MultiLabelData, load_multilabel
from .metrics import multilabel_metrics
from .result import MultiLabelResult
from .scoring import score_multilabel

__all__ = ["run_multilabel", "audit_multilabel", "multilabel_plan", "train_data_config"]

_DEFAULT_SIGNALS = ("duplicates", "outliers")


def multilabel_plan(config: RunConfig) -> Plan:
    """The run's `backends.Plan` for label sets, resolved once before any work: the method ('auto': `tfidf`
    on CPU, `finetune+tfidf` on a CUDA GPU, as single-label), the device and the signals (no text features:
    the one-vs-rest backend has its own)."""
    methods, device = resolve_backends(_check_method(config), multilabel_backend_class, cpu_auto=("tfidf",))
    return Plan(config.method, methods, signals=multilabel_signals(config, methods), device=device)


def _check_method(config: RunConfig) -> tuple[str, ...]:
    methods = parse_method(config.method)
    bad = [m for m in methods if m not in ML_METHODS and m != "auto"]
    if bad:
        raise OptionError(f"The 'method' option for multi-label data must be auto or from {', '.join(ML_METHODS)} "
                          f"joined by '+'. Got {config.method!r} instead.")
    return methods


def check_multilabel_options(config: RunConfig) -> Plan:
    """Impossible option combinations for multi-label data, refused before any work; the run's plan."""
    plan = multilabel_plan(config)
    if config.save_model or config.push_to_hub:
        from ..final_model import check_model_options

        check_model_options(config, plan.backends)
    return plan


def multilabel_signals(config: RunConfig, methods) -> tuple[str, ...]:
    """--signals, else duplicates, outliers and, where the k-fold method fine-tunes, dynamics (as single-label)."""
    chosen = parse_signals(config.signals)
    kfold = config.pred_probs is None and config.train_data is None
    possible = _DEFAULT_SIGNALS + (("dynamics",) if "finetune" in methods and kfold else ())
    if chosen is None:
        return possible
    if "dynamics" in chosen and "dynamics" not in possible and config.signals != "all":
        raise OptionError("The 'signals' option 'dynamics' needs k-fold fine-tuning (--method finetune or "
                          "finetune+tfidf, without --pred-probs or --train-data): training dynamics are recorded "
                          f"while the model learns. Got method {'+'.join(methods)!r} instead.")
    return tuple(s for s in chosen if s in possible)


def train_data_config(data: DataConfig, source: str) -> DataConfig:
    """--train-data is read as --data is (the same columns, separator, label names, column names), without
    its id column and split: a Hub id gives its "train" split, as single-label."""
    return dataclasses.replace(data, source=source, id_column=None, split=None, config_name=None)


def run_multilabel(config: RunConfig, progress) -> tuple[MultiLabelResult, Path]:
    from ..distributed import world_size
    from ..pipeline import check_inputs_outside, default_out_dir
    from ..rundir import check_out_dir

    plan = check_multilabel_options(config)
    if world_size() > 1:
        raise OptionError("Multi-label audits run in one process; launch without torchrun.")
    started = time.perf_counter()
    data = load_multilabel(config.data)
    train = None
    if config.train_data is not None:
        config = config.replace(train_data=train_data_config(config.data, config.train_data.source))
        train = load_multilabel(config.train_data)
    load_s = time.perf_counter() - started
    out = Path(config.out) if config.out else default_out_dir(data.name)
    check_inputs_outside(out, config)
    if config.pred_probs is None:  # models train: every finished fold is kept for --resume
        result = _audit_resumably(out, data, config, progress, load_s, train, plan)
    else:
        check_out_dir(out, config.overwrite)
        result = audit_multilabel(data, config, progress, load_s=load_s, plan=plan)
        result.save(out, overwrite=config.overwrite)
    if config.save_model:
        from ..final_model import save_final_model
        from .finetune import MultiLabelFinetune

        save_final_model(data, config, result, out, progress, backend_class=MultiLabelFinetune,
                         model_settings={"auditor_label_separator": data.separator})
    return result, out


def _audit_resumably(out: Path, data: MultiLabelData, config: RunConfig, progress, load_s: float, train,
                     plan: Plan):
    """As the single-label `pipeline._audit_resumably`: the run folder caches each finished fold."""
    from ..provenance import fingerprint
    from ..resume import resumable_run

    _check_inputs(data, config, train)  # before the folder is made
    state = dict(fingerprint(data, config, plan, train, task="multi-label"),
                 command=config.command, config=dataclasses.asdict(config))
    total = len(plan.backends) * (config.folds if train is None else 1)
    with resumable_run(out, state, overwrite=config.overwrite, resume=config.resume, total_folds=total) as cache:
        result = audit_multilabel(data, config, progress, load_s=load_s, train=train, fold_cache=cache, plan=plan)
        result.run["fingerprint"] = state["fingerprint"]
        result.save(out, overwrite=True)  # replaces the folder that held the run while it trained
    return result


def _check_inputs(data: MultiLabelData, config: RunConfig, train) -> np.ndarray | None:
    """Enough rows for the folds, or the training data's sets in the audited data's labels (returned)."""
    if train is not None:
        return _relabel_sets(train, data)
    if len(data) < 2 * config.folds:
        raise DataError(f"{data.source}: {len(data)} rows; a {config.folds}-fold audit needs at least "
                        f"{2 * config.folds} (lower --folds or add rows).")
    return None


def audit_multilabel(data: MultiLabelData, config: RunConfig, progress=None, load_s: float = 0.0, *,
                     pred_probs=None, train: MultiLabelData | None = None, fold_cache=None,
                     plan: Plan | None = None) -> MultiLabelResult:
    """Probabilities, scores and metrics for loaded multi-label data (shared by the CLI and `audit`).

    `pred_probs` (an n × k array) stands in for `config.pred_probs` (a file); `train` (loaded
    `config.train_data`) is trained on once instead of k-fold; `fold_cache` as `out_of_sample_multilabel`."""
    from ..pipeline import Progress, _run_info

    plan = plan or check_multilabel_options(config)
    given = _given_probs(config, data, pred_probs)  # checked before any progress line: one line on error
    train_labels = _check_inputs(data, config, train) if given is None else None
    progress = progress or Progress(config.quiet)
    if given is not None:
        plan = None  # nothing trains
    methods = ("precomputed",) if plan is None else plan.backends
    signals = multilabel_signals(config, methods) if plan is None else plan.signals
    per_epoch = (config.train.dynamics_per_epoch or 1) if "dynamics" in signals else 0
    config = config.replace(train=dataclasses.replace(config.train, dynamics_per_epoch=per_epoch))
    progress(f"{len(data)} rows, {len(data.class_names)} labels (multi-label, "
             f"{data.labels.sum(axis=1).mean():.2f} per row); method {'+'.join(methods)}"
             + (f", trained on {train.source}" if train is not None else ""))
    timings = {"load": round(load_s, 3)}
    started = time.perf_counter()
    if given is not None:
        probs, folds, dynamics = given, np.full(len(data), -1, dtype=np.int64), None
        details = {"precomputed": {"source": config.pred_probs or "array"}}
    else:
        probs, folds, details, dynamics = _probabilities(data, config, methods, progress, train, train_labels,
                                                         fold_cache)
    timings["probabilities"] = round(time.perf_counter() - started, 3)
    scored = time.perf_counter()
    scores = score_multilabel(data, probs, signals=[s for s in signals if s != "dynamics"],
                              duplicate_threshold=config.duplicate_threshold, seed=config.seed, dynamics=dynamics)
    scores["fold"] = folds
    timings["score"] = round(time.perf_counter() - scored, 3)
    metrics = multilabel_metrics(data.labels, probs, data.class_names, scores["is_label_issue"].to_numpy())
    metrics.update(method="+".join(methods), model=config.train.model if "finetune" in methods else None,
                   folds=config.folds if given is None and train is None else None, seed=config.seed,
                   backend_details=details, signals=["label_quality", *signals], truncated_texts=data.truncated,
                   pred_probs_given=given is not None)
    metrics["timings"] = dict(timings, total=round(load_s + time.perf_counter() - started, 3))
    run = _run_info(config, data, methods, plan)
    run["task"] = "multi-label"
    run["data"].update(form=data.form, separator=data.separator, label_columns=list(data.label_columns),
                       label_names=config.data.label_names, column_names=config.data.column_names,
                       ids_as_names=data.ids_as_names)
    if train is not None:
        from ..provenance import content_sha256

        run["train_data"] = {"source": train.source, "rows": len(train), "content_sha256": content_sha256(train)}
    return MultiLabelResult(scores, metrics, run, data.class_names)


def _probabilities(data: MultiLabelData, config: RunConfig, methods, progress, train, train_labels, fold_cache):
    if train is not None:
        return train_and_predict_multilabel(train.texts, train_labels, data.texts, data.labels, methods,
                                            config.seed, config.train, progress, data.class_names, fold_cache)
    return out_of_sample_multilabel(data.texts, data.labels, methods, config.folds, config.seed, config.train,
                                    progress, data.class_names, fold_cache)


def _given_probs(config: RunConfig, data: MultiLabelData, pred_probs=None):
    """Per-label probabilities given as an array or a --pred-probs file, validated; None when models train."""
    from ..backends.precomputed import check_label_probs, load_label_probs

    if pred_probs is not None:
        probs = check_label_probs(pred_probs, len(data), data.class_names)
    elif config.pred_probs is not None:
        probs = load_label_probs(config.pred_probs, len(data), data.class_names)
    else:
        return None
    # As the backends give them: no exact 0 or 1 for log odds, and C order (a column-major array, as pandas
    # hands out, sums rows in another order: scores would differ in the last bit from the trained run's).
    return np.ascontiguousarray(np.clip(probs, _EPS, 1 - _EPS))


def _relabel_sets(train: MultiLabelData, data: MultiLabelData) -> np.ndarray:
    """The training data's sets as columns of the audited data's labels (its order)."""
    index = {c: j for j, c in enumerate(data.class_names)}
    counts = train.labels.sum(axis=0)
    unknown = [c for j, c in enumerate(train.class_names) if counts[j] and c not in index]
    if unknown:
        raise DataError(f"{train.source}: label {unknown[0]!r} does not occur in {data.source}; "
                        f"expected one of {list(data.class_names)}.")
    matrix = np.zeros((len(train), len(data.class_names)), dtype=np.int8)
    for j, name in enumerate(train.class_names):
        if name in index:
            matrix[:, index[name]] = train.labels[:, j]
    return matrix
