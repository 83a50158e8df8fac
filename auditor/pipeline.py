"""`run(config)`: the one place the stages are wired together (load → probabilities → scores → outputs)."""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import backends
from .device import device_name
from .distributed import is_main_process, world_size
from .config import RunConfig
from .data import MAX_TEXT_CHARS, AuditData, load_data
from .errors import OptionError
from .metrics import classification_metrics, noise_estimate
from .provenance import fingerprint, input_facts, versions
from .resume import resumable_run
from .result import AuditResult, prob_column
from .rundir import check_out_dir
from .scoring import score_all
from .scoring.combine import combine, suggest
from .scoring.neighbours import neighbour_columns

__all__ = ["run", "audit_data", "build_scores", "resolve_signals", "default_out_dir", "Progress"]


class Progress:
    """Stage messages on stderr (silenced by --quiet); `bars` turns on tqdm bars in long stages."""

    def __init__(self, quiet: bool = False):
        # Under torchrun every process runs the pipeline; only the main one reports.
        self.quiet = quiet or not is_main_process()
        self.bars = not self.quiet and sys.stderr.isatty()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"auditor: {message}", file=sys.stderr, flush=True)


class _Timer:
    def __init__(self):
        self.stages: dict[str, float] = {}

    def stage(self, name):
        timer = self

        class _Stage:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer.stages[name] = round(timer.stages.get(name, 0.0) + time.perf_counter() - self.start, 3)

        return _Stage()


def default_out_dir(data_name: str, root: str = "reports") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{data_name}-{stamp}"


# Hook: the run of each task other than single-label, registered by its package (auditor.multilabel.pipeline).
TASK_RUNNERS: dict = {}


def run(config: RunConfig, progress: Progress | None = None) -> tuple[AuditResult, Path]:
    """Audit the data named in `config` and write the run folder; returns the result and the folder."""
    progress = progress or Progress(config.quiet)
    from .multilabel import is_multilabel  # hook: multi-label data has its own pipeline (auditor.multilabel)

    if is_multilabel(config):
        from .result import load_task

        load_task("multi-label")
        return TASK_RUNNERS["multi-label"](config, progress)
    timer = _Timer()
    kfold = config.pred_probs is None and config.train_data is None
    with timer.stage("load"):
        data = load_data(config.data, min_per_class=config.folds if kfold else 1)
        train = load_data(config.train_data) if config.train_data else None
    plan = plan_for(config, data, train) if config.pred_probs is None else None  # the one plan of this run
    if config.save_model or config.push_to_hub:
        from .final_model import check_model_options

        check_model_options(config, plan.backends if plan is not None else None)
    out = Path(config.out) if config.out else default_out_dir(data.name)
    check_inputs_outside(out, config)
    if config.resume and world_size() > 1:
        raise OptionError("The 'resume' option is not available when several processes train (torchrun).")
    if config.pred_probs is None and world_size() == 1:
        result = _audit_resumably(out, data, config, progress, timer, train, plan)
    else:  # nothing to train, so nothing to resume; or processes that must all skip the same folds
        check_out_dir(out, config.overwrite)
        result = audit_data(data, config, progress, timer, train=train, plan=plan)
        if plan is not None:  # the same provenance as a single-process run
            result.run["fingerprint"] = fingerprint(data, config, plan, train)["fingerprint"]
        if is_main_process():
            result.save(out, overwrite=config.overwrite)
    if is_main_process() and config.save_model:
        from .final_model import save_final_model

        save_final_model(data, config, result, out, progress)
    return result, out


def _audit_resumably(out: Path, data: AuditData, config: RunConfig, progress, timer, train, plan) -> AuditResult:
    """Train with every finished fold cached in `out`, so that an interrupted run can continue (--resume)."""
    state = dict(fingerprint(data, config, plan, train), command=config.command, config=dataclasses.asdict(config))
    total = len(plan.backends) * (backends.fold_fits(plan, config.folds) if train is None else 1)
    with resumable_run(out, state, overwrite=config.overwrite, resume=config.resume, total_folds=total) as cache:
        result = audit_data(data, config, progress, timer, train=train, fold_cache=cache, plan=plan)
        result.run["fingerprint"] = state["fingerprint"]
        result.save(out, overwrite=True)  # replaces the folder that held the run while it trained
    return result


def audit_data(data: AuditData, config: RunConfig, progress=None, timer=None, train: AuditData | None = None,
               pred_probs=None, fold_cache=None, plan=None):
    """Probabilities, scores and metrics for already-loaded data (shared by the CLI and the Python API).

    `pred_probs` (an array) stands in for `config.pred_probs` (a file) when the caller already holds them.
    `fold_cache` (`auditor.resume.FoldCache`) keeps finished folds and supplies those a run already did.
    `plan`: the run's `backends.Plan` (`plan_for`), made here when not given.
    """
    progress = progress or Progress(config.quiet)
    timer = timer or _Timer()
    started = time.perf_counter()
    given = pred_probs is not None or config.pred_probs is not None
    plan = None if given else plan or plan_for(config, data, train)
    methods = ("precomputed",) if given else plan.backends
    signals = plan.signals if plan is not None else resolve_signals(config, methods, train)
    precomputed = _precomputed(config, data, pred_probs)  # checked before any progress line: one line on error
    progress(f"{len(data)} rows, {len(data.class_names)} classes; method {'+'.join(methods)}")
    if "dynamics" in signals and not config.train.dynamics_per_epoch:
        config = config.replace(train=dataclasses.replace(config.train, dynamics_per_epoch=1))
    with timer.stage("probabilities"):
        output = precomputed or _probabilities(data, config, plan, progress, train, fold_cache)
    _say_if_embeddings_too_many(data, config, signals, output.embeddings, progress)
    with timer.stage("score"):
        scores = build_scores(
            data, output.pred_probs, config.score_method, output.folds, signals=signals,
            embeddings=output.embeddings, dynamics=output.dynamics,
            duplicate_threshold=config.duplicate_threshold, seed=config.seed,
        )
    metrics = classification_metrics(
        data.labels, output.pred_probs, data.class_names, scores["is_label_issue"].to_numpy()
    )
    metrics["noise"] = noise_estimate(data.labels, output.pred_probs, data.class_names)
    metrics.update(
        method="+".join(methods),
        model=config.train.model if {"finetune", "embeddings"} & set(methods) else None,
        folds=config.folds if not given and train is None else None,
        seed=config.seed,
        backend_details=output.details,
        signals=list(signals),
        truncated_texts=data.truncated,
        max_text_chars=MAX_TEXT_CHARS,
    )
    metrics["timings"] = dict(timer.stages, total=round(time.perf_counter() - started, 3))
    run_info = _run_info(config, data, methods, plan)
    result = AuditResult(scores, metrics, run_info, data.class_names, embeddings=output.embeddings)
    if config.previous:  # kept in run.json, so the report shows it even after the earlier run is gone
        from .compare import compare_results, comparison_summary
        from .result import load_run

        result.run["previous"] = comparison_summary(compare_results(load_run(config.previous), result),
                                                    config.previous)
    return result


def plan_for(config: RunConfig, data: AuditData, train: AuditData | None = None) -> backends.Plan:
    """The run's `backends.Plan`: its method, device and signals resolved once, settings chosen from the
    texts models train on."""
    texts = train.texts if train is not None else data.texts
    plan = backends.make_plan(config.method, texts, len(data.class_names), k_fold=train is None)
    return dataclasses.replace(plan, signals=resolve_signals(config, plan.backends, train))


def resolve_signals(config: RunConfig, methods, train=None) -> tuple[str, ...]:
    """The scorers to run: --signals, else the default set less what this run cannot compute."""
    from .config import parse_signals
    from .errors import OptionError
    from .scoring import DEFAULT_SIGNALS

    dynamics_possible = "finetune" in methods and config.pred_probs is None and train is None
    chosen = parse_signals(config.signals)
    if chosen is None:
        return tuple(s for s in DEFAULT_SIGNALS if s != "dynamics" or dynamics_possible)
    if "dynamics" in chosen and not dynamics_possible:
        if config.signals == "all":
            return tuple(s for s in chosen if s != "dynamics")
        raise OptionError(
            "The 'signals' option 'dynamics' needs k-fold fine-tuning (--method finetune or finetune+...), "
            "without --pred-probs or --train-data: training dynamics are recorded while the model learns. "
            f"Got method {'+'.join(methods)!r} instead."
        )
    return chosen


def _say_if_embeddings_too_many(data: AuditData, config: RunConfig, signals, embeddings, progress) -> None:
    from .scoring.duplicates import NEAR_SEARCH_MAX_UNITS, normalize_text

    big = embeddings is not None and len(data) > NEAR_SEARCH_MAX_UNITS and config.duplicate_threshold < 1
    if big and "duplicates" in signals and len({normalize_text(t) for t in data.texts}) > NEAR_SEARCH_MAX_UNITS:
        progress(f"more than {NEAR_SEARCH_MAX_UNITS:,} distinct texts: near duplicates are compared on TF-IDF, "
                 "not on embeddings (that search's time grows with the square of the number of texts)")


def _precomputed(config: RunConfig, data: AuditData, pred_probs=None):
    """Probabilities given as an array or a --pred-probs file, validated; None when the run trains."""
    from .backends.precomputed import check_pred_probs, load_pred_probs

    if pred_probs is not None:
        probs = check_pred_probs(pred_probs, len(data), len(data.class_names))
    elif config.pred_probs is not None:
        probs = load_pred_probs(config.pred_probs, len(data), len(data.class_names))
    else:
        return None
    return backends.BackendOutput(pred_probs=probs, folds=np.full(len(data), -1), details={})


def _probabilities(data: AuditData, config: RunConfig, plan, progress, train, fold_cache=None):
    if train is not None:
        labels = _relabel(train, data)
        return backends.train_and_predict(
            train.texts, labels, data.texts, data.labels, len(data.class_names), plan,
            config.seed, config.train, progress, fold_cache,
        )
    return backends.out_of_sample(
        data.texts, data.labels, len(data.class_names), plan, config.folds, config.seed, config.train, progress,
        fold_cache,
    )


def _relabel(train: AuditData, data: AuditData) -> np.ndarray:
    """Map the training data's labels onto the audited data's class order."""
    from .errors import DataError

    index = {c: i for i, c in enumerate(data.class_names)}
    unknown = sorted(set(train.class_names) - set(index))
    if unknown:
        raise DataError(
            f"{train.source}: label {unknown[0]!r} does not occur in {data.source}; "
            f"expected one of {list(data.class_names)}."
        )
    return np.array([index[train.class_names[i]] for i in train.labels], dtype=np.int64)


def build_scores(
    data: AuditData, pred_probs, score_method="self_confidence", folds=None, signals=None, **inputs
) -> pd.DataFrame:
    """One row per example, in input order: identity, probabilities, every signal, rank and reasons.

    `signals` names the scorers (default: `scoring.DEFAULT_SIGNALS`); `inputs` (embeddings, dynamics,
    duplicate_threshold, seed) go to the scorers.
    """
    from .scoring import DEFAULT_SIGNALS

    labels, names = data.labels, data.class_names
    if signals is None:  # the defaults this call has inputs for (dynamics come only from fine-tuning)
        signals = tuple(s for s in DEFAULT_SIGNALS if s != "dynamics" or inputs.get("dynamics") is not None)
    signals = score_all(
        labels, pred_probs, signals, score_method=score_method, texts=data.texts,
        ids=data.ids, class_names=names, **inputs,
    )
    suggested, p_suggested = suggest(labels, pred_probs)
    base = pd.DataFrame(
        {
            "id": data.ids,
            "text": list(data.texts),
            "given_label": [names[i] for i in labels],
            "predicted_label": [names[i] for i in pred_probs.argmax(axis=1)],
            "suggested_label": [names[i] for i in suggested],
            "suggested_label_probability": p_suggested,
            "given_label_probability": pred_probs[np.arange(len(labels)), labels],
        }
    )
    probs = pd.DataFrame(pred_probs, columns=[prob_column(c) for c in names])
    table = pd.concat([base, probs, signals], axis=1)
    table = combine(table, labels, pred_probs, names)
    table["fold"] = folds if folds is not None else -1
    evidence = neighbour_columns(data.ids, labels, names, table["rank"], table["is_label_issue"],
                                 texts=data.texts, embeddings=inputs.get("embeddings"))
    return pd.concat([table, evidence], axis=1)


def _run_info(config: RunConfig, data: AuditData, methods, plan=None) -> dict:
    return {
        "command": config.command,
        "config": dataclasses.asdict(config),
        "resolved_method": "+".join(methods),
        "plan": plan.as_dict() if plan is not None else None,
        "data": {"source": data.source, "format": data.format, "rows": len(data),
                 "text_column": data.text_column, "label_column": data.label_column, "id_column": data.id_column,
                 "truncated_texts": data.truncated, **input_facts(config, data)},
        "id_kind": "int" if np.issubdtype(np.asarray(data.ids).dtype, np.integer) else "str",
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device_name(),
        "versions": versions(),
        "complete": True,
    }


def check_inputs_outside(out: Path, config: RunConfig) -> None:
    """Replacing `out` (--overwrite, --resume) must never delete an input file that lives inside it."""
    from .errors import RunDirError

    inputs = [config.data.source, config.pred_probs, config.train_data.source if config.train_data else None]
    folder = out.resolve()
    for item in filter(None, inputs):
        path = Path(item).resolve()
        if path.exists() and (path == folder or folder in path.parents):
            raise RunDirError(
                f"--out {out}: holds the input {item}; replacing the folder would delete it. Choose another --out."
            )
