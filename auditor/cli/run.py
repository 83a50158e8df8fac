"""`auditor run`: audit a dataset."""

from __future__ import annotations

import argparse

from .options import float_type, int_type, command_line

__all__ = ["add_run", "config_from_args"]


def add_run(p: argparse.ArgumentParser) -> None:
    from ..config import BACKENDS, SCORE_METHODS, SIGNALS, RunConfig, TrainConfig

    data = p.add_argument_group("data")
    data.add_argument("--data", help="a CSV/TSV/JSON/JSONL/Parquet/text;label file or a Hugging Face dataset id "
                      "(default: examples/emotion_train.txt)")
    data.add_argument("--split", help="split of a Hub dataset (default: train)")
    data.add_argument("--config", dest="config_name", help="configuration of a Hub dataset")
    text = data.add_argument("--text-column", help="the texts' column (default: auto-detected, the "
                             "first of these names that is a column, in any case: %(candidates)s)")
    text.candidates = _Lazy(lambda: _candidates("TEXT_CANDIDATES"))
    label = data.add_argument("--label-column", help="the labels' column (default: auto-detected, "
                              "the first of these names that is another column, in any case: %(candidates)s)")
    label.candidates = _Lazy(lambda: _candidates("LABEL_CANDIDATES"))
    data.add_argument("--id-column", help="a column of unique ids (default: 0-based row position)")
    data.add_argument("--train-data", help="train once on this data and score --data (no k-fold)")
    multi = p.add_argument_group("multi-label data (docs/multilabel.md)")
    multi.add_argument("--task", default="auto", help="auto (multi-label when the labels are lists, joined ids such "
                       "as '6,20', or a multi-label option is given), single-label or multi-label")
    multi.add_argument("--label-columns", help="one 0/1 column per label: names a,b,c or a prefix such as 'emo_*'")
    multi.add_argument("--label-separator", help="separator of joined label strings such as 'joy|love' (default: ,)")
    multi.add_argument("--column-names", help="the columns of a headerless CSV/TSV, e.g. text,labels,id")
    multi.add_argument("--label-names", help="a file of label names, one per line; label id = line number from 0")
    model = p.add_argument_group("probabilities")
    method = model.add_argument(
        "--method", default="auto",
        help=f"auto, or backends joined by '+' (probabilities averaged) from {', '.join(BACKENDS)} "
             "(default: auto, which on this machine is %(auto)s)")
    method.auto = _Lazy(_auto_method)
    model.add_argument("--pred-probs", help="a .npy file of out-of-sample probabilities to audit instead of training")
    model.add_argument("--folds", type=int_type("folds"), default=RunConfig.folds,
                       help="k of the k-fold cross-validation that gives out-of-sample probabilities "
                            "(default: %(default)s)")
    model.add_argument("--seed", type=int_type("seed"), default=RunConfig.seed,
                       help="seed for the fold split and training (default: %(default)s)")
    model.add_argument("--model", help="Hub id or local path (default: the packaged all-MiniLM-L6-v2)")
    model.add_argument("--epochs", type=float_type("epochs"), help="default: 3 on CPU, 2 on a CUDA GPU")
    model.add_argument("--batch-size", type=int_type("batch-size"),
                       help="examples per optimiser step, over all processes (default: 32 on CPU, 256 on a CUDA GPU)")
    model.add_argument("--learning-rate", type=float_type("learning-rate"), help="default: 1e-4 on CPU, 3e-4 on a CUDA GPU")
    model.add_argument("--max-length", type=int_type("max-length"), default=None,
                       help="tokens per text for finetune (default: the data's 95th percentile, up to the model's "
                       "limit)")
    model.add_argument("--truncation", default=TrainConfig.truncation,
                       help="finetune: which tokens of a text longer than --max-length to keep: head (the first) "
                       "or head+tail (the first quarter and the last three quarters) (default: %(default)s)")
    model.add_argument("--torch-compile", action="store_true", help="compile the model with torch.compile")
    model.add_argument("--parallel-folds", action="store_true",
                       help="finetune: with several visible GPUs, train folds in parallel, one process per GPU")
    scoring = p.add_argument_group("scoring and output")
    scoring.add_argument("--score-method", default="self_confidence",
                         help=f"cleanlab's label-quality score: {', '.join(SCORE_METHODS)} (default: %(default)s)")
    # --use-signals: under torchrun, whose own parser takes `--signals` for an abbreviation of its
    # --signals-to-handle and stops with "ambiguous option" before auditor starts.
    signals = scoring.add_argument(
        "--signals", "--use-signals", dest="signals",
        help=f"comma list of signals to compute from {', '.join(SIGNALS)}, or 'all' / 'none' (loss and "
             "label_quality always run; default: %(default_set)s; dynamics are added when the method "
             "fine-tunes; "
             "under torchrun spell it --use-signals)")
    signals.default_set = _Lazy(_default_signals)
    scoring.add_argument("--duplicate-threshold", type=float_type("duplicate-threshold"),
                         default=RunConfig.duplicate_threshold,
                         help="cosine similarity from which two texts are near duplicates (1 = exact only; "
                              "default: %(default)s)")
    scoring.add_argument("--out", help="run folder (default: reports/<data>-<timestamp>)")
    scoring.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    scoring.add_argument("--resume", action="store_true",
                         help="continue the interrupted run in --out from its next unfinished fold")
    scoring.add_argument("--previous", metavar="RUN_DIR",
                         help="an earlier run of this data (e.g. before `apply`): the report gets a section on "
                              "what changed, as `auditor compare` prints it")
    scoring.add_argument("--top", type=int_type("top"), default=RunConfig.top,
                         help="suspects shown in the console summary (default: %(default)s)")
    scoring.add_argument("--quiet", action="store_true", help="only errors and the final summary")
    scoring.add_argument("--save-model", action="store_true",
                         help="after the k-fold fine-tune, train one model on all rows and save it in RUN_DIR/model "
                              "(needs a method with finetune)")
    scoring.add_argument("--push-to-hub", metavar="REPO_ID",
                         help="upload RUN_DIR/model and a model card to the Hugging Face Hub (needs --save-model)")
    p.set_defaults(func=_cmd_run)


class _Lazy:
    """A value for a help string, computed only when the help is shown (resolving 'auto' imports torch)."""

    def __init__(self, compute):
        self.compute = compute

    def __str__(self) -> str:
        return self.compute()


def _auto_method() -> str:
    from ..backends import resolve_methods

    return "+".join(resolve_methods("auto"))


def _default_signals() -> str:
    """The default set without dynamics, which only a fine-tuning method records."""
    from ..scoring import DEFAULT_SIGNALS

    return ",".join(s for s in DEFAULT_SIGNALS if s != "dynamics")


def _candidates(name: str) -> str:
    from .. import data

    return ", ".join(getattr(data, name))


def config_from_args(args) -> "RunConfig":
    from ..config import DataConfig, RunConfig, TrainConfig

    data_kwargs = dict(split=args.split, config_name=args.config_name, text_column=args.text_column,
                       label_column=args.label_column, id_column=args.id_column, label_columns=args.label_columns,
                       label_separator=args.label_separator, column_names=args.column_names,
                       label_names=args.label_names)
    data = DataConfig(source=args.data, **data_kwargs) if args.data else DataConfig(**data_kwargs)
    train_data = DataConfig(source=args.train_data, text_column=args.text_column,
                            label_column=args.label_column) if args.train_data else None
    train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                        max_length=args.max_length, truncation=args.truncation, torch_compile=args.torch_compile,
                        parallel_folds=args.parallel_folds,
                        **({"model": args.model} if args.model else {}))
    return RunConfig(
        data=data, train=train, method=args.method, folds=args.folds, seed=args.seed,
        score_method=args.score_method, signals=args.signals, duplicate_threshold=args.duplicate_threshold,
        pred_probs=args.pred_probs, train_data=train_data, out=args.out,
        overwrite=args.overwrite, resume=args.resume, top=args.top, quiet=args.quiet, command=command_line(),
        save_model=args.save_model, push_to_hub=args.push_to_hub, previous=args.previous,
        task=args.task,
    )


def _cmd_run(args) -> int:
    from .. import distributed
    from ..pipeline import Progress, run
    from ..summary import print_summary

    distributed.silence_replica(quiet=args.quiet)
    config = config_from_args(args)
    if config.previous:
        from ..result import load_run

        load_run(config.previous)  # a wrong --previous fails now, not after the training
    result, out = run(config, Progress(config.quiet))
    if distributed.is_main_process():
        print_summary(result, out, top=config.top, extra=_comparison(config.previous, result, out))
    distributed.finish()
    if config.push_to_hub and distributed.is_main_process():
        from ..final_model import push_to_hub

        print(f"Pushed {out}/model to {push_to_hub(out, config.push_to_hub)}")
    return 0




def _comparison(previous, result, out) -> str | None:
    if not previous:
        return None
    from ..compare import format_comparison

    return format_comparison(result.run["previous"], previous, str(out))
