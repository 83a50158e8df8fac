"""A thin command line over the package's functions. User errors → one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys

from .errors import AuditorError

__all__ = ["main", "build_parser"]

EXIT_USER_ERROR = 2
EXIT_BUG = 1


class _Parser(argparse.ArgumentParser):
    """argparse prints usage and exits 2 on bad options; we keep exit 2 but print our one-line shape."""

    def error(self, message):
        raise AuditorError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="auditor", description="Find mislabelled examples in a text-classification dataset.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _add_run(sub.add_parser("run", help="audit a dataset (default: the shipped emotion training split)"))
    _add_bench(sub.add_parser("bench", help="plant label noise and measure how well each method finds it"))
    from .report.commands import add_commands

    add_commands(sub, _int)
    return parser


def _add_run(p: argparse.ArgumentParser) -> None:
    from .config import BACKENDS, SCORE_METHODS, SIGNALS, RunConfig

    data = p.add_argument_group("data")
    data.add_argument("--data", help="a CSV/TSV/JSON/JSONL/Parquet/text;label file or a Hugging Face dataset id "
                      "(default: examples/emotion_train.txt)")
    data.add_argument("--split", help="split of a Hub dataset (default: train)")
    data.add_argument("--config", dest="config_name", help="configuration of a Hub dataset")
    data.add_argument("--text-column")
    data.add_argument("--label-column")
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
    model.add_argument("--method", default="auto",
                       help=f"auto, or backends joined by '+' (probabilities averaged) from {', '.join(BACKENDS)}")
    model.add_argument("--pred-probs", help="a .npy file of out-of-sample probabilities to audit instead of training")
    model.add_argument("--folds", type=_int("folds"), default=5)
    model.add_argument("--seed", type=_int("seed"), default=0)
    model.add_argument("--model", help="Hub id or local path (default: the packaged all-MiniLM-L6-v2)")
    model.add_argument("--epochs", type=_float("epochs"), help="default: 3 on CPU, 2 on a CUDA GPU")
    model.add_argument("--batch-size", type=_int("batch-size"),
                       help="examples per optimiser step, over all processes (default: 32 on CPU, 256 on a CUDA GPU)")
    model.add_argument("--learning-rate", type=_float("learning-rate"), help="default: 1e-4 on CPU, 3e-4 on a CUDA GPU")
    model.add_argument("--max-length", type=_int("max-length"), default=128)
    model.add_argument("--torch-compile", action="store_true", help="compile the model with torch.compile")
    scoring = p.add_argument_group("scoring and output")
    scoring.add_argument("--score-method", default="self_confidence", help=", ".join(SCORE_METHODS))
    scoring.add_argument("--signals", help=f"comma list of signals to compute from {', '.join(SIGNALS)}, "
                         "or 'all' / 'none' (loss and label_quality always run; default: the measured best set)")
    scoring.add_argument("--duplicate-threshold", type=_float("duplicate-threshold"),
                         default=RunConfig.duplicate_threshold,
                         help="cosine similarity from which two texts are near duplicates (1 = exact only)")
    scoring.add_argument("--out", help="run folder (default: reports/<data>-<timestamp>)")
    scoring.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    scoring.add_argument("--resume", action="store_true",
                         help="continue the interrupted run in --out from its next unfinished fold")
    scoring.add_argument("--top", type=_int("top"), default=10, help="suspects shown in the console summary")
    scoring.add_argument("--quiet", action="store_true", help="only errors and the final summary")
    scoring.add_argument("--save-model", action="store_true",
                         help="after the k-fold fine-tune, train one model on all rows and save it in RUN_DIR/model "
                              "(needs a method with finetune)")
    scoring.add_argument("--push-to-hub", metavar="REPO_ID",
                         help="upload RUN_DIR/model and a model card to the Hugging Face Hub (needs --save-model)")
    p.set_defaults(func=_cmd_run)


def _add_bench(p: argparse.ArgumentParser) -> None:
    from .benchmark import NOISE_SETTINGS

    p.add_argument("--data", help="a dataset as for 'run' (default: examples/emotion_train.txt); its labels are "
                   "taken as clean")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--limit", type=_int("limit"), help="a class-stratified subset of this many rows")
    p.add_argument("--noise", nargs="+", default=["uniform10", "classcond10"],
                   help=f"noise settings from {', '.join(NOISE_SETTINGS)} (default: uniform10 classcond10)")
    p.add_argument("--seeds", nargs="+", type=_int("seeds"), default=[0])
    p.add_argument("--methods", nargs="+", help="groups (auto, backend, ensemble, signal, baseline, candidate, "
                   "finetune, all) or method names (default: all but candidate; finetune only on a GPU)")
    p.add_argument("--folds", type=_int("folds"), default=5)
    p.add_argument("--epochs", type=_float("epochs"), help="for finetune (default: as for 'run')")
    p.add_argument("--max-length", type=_int("max-length"), default=128, help="for finetune")
    p.add_argument("--cache-dir", default="reports/.bench-cache",
                   help="probabilities cached per (data, noise, seed, source); clear it after changing a backend")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--out", help="results folder (default: reports/bench-<timestamp>)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_bench)


def _cmd_bench(args) -> int:
    from .benchmark import bench_from_args

    print(bench_from_args(args, _command_line()), end="")
    return 0


def _int(name):
    def parse(value):
        try:
            return int(value)
        except ValueError:
            raise AuditorError(f"The '{name}' option must be an int. Got {value!r} instead.") from None

    return parse


def _float(name):
    def parse(value):
        try:
            return float(value)
        except ValueError:
            raise AuditorError(f"The '{name}' option must be a number. Got {value!r} instead.") from None

    return parse


def config_from_args(args) -> "RunConfig":
    from .config import DataConfig, RunConfig, TrainConfig

    data_kwargs = dict(split=args.split, config_name=args.config_name, text_column=args.text_column,
                       label_column=args.label_column, id_column=args.id_column, label_columns=args.label_columns,
                       label_separator=args.label_separator, column_names=args.column_names,
                       label_names=args.label_names)
    data = DataConfig(source=args.data, **data_kwargs) if args.data else DataConfig(**data_kwargs)
    train_data = DataConfig(source=args.train_data, text_column=args.text_column,
                            label_column=args.label_column) if args.train_data else None
    train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                        max_length=args.max_length, torch_compile=args.torch_compile,
                        **({"model": args.model} if args.model else {}))
    return RunConfig(
        data=data, train=train, method=args.method, folds=args.folds, seed=args.seed,
        score_method=args.score_method, signals=args.signals, duplicate_threshold=args.duplicate_threshold,
        pred_probs=args.pred_probs, train_data=train_data, out=args.out,
        overwrite=args.overwrite, resume=args.resume, top=args.top, quiet=args.quiet, command=_command_line(),
        save_model=args.save_model, push_to_hub=args.push_to_hub, task=args.task,
    )


def _command_line() -> str:
    return "python -m auditor " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _cmd_run(args) -> int:
    from . import distributed
    from .pipeline import Progress, run
    from .summary import print_summary

    distributed.silence_replica()
    config = config_from_args(args)
    result, out = run(config, Progress(config.quiet))
    if distributed.is_main_process():
        print_summary(result, out, top=config.top)
    distributed.finish()
    if config.push_to_hub and distributed.is_main_process():
        from .final_model import push_to_hub

        print(f"Pushed {out}/model to {push_to_hub(out, config.push_to_hub)}")
    return 0


def main(argv=None) -> int:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    parser = build_parser()
    restore = _terminate_like_interrupt()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return args.func(args)
    except AuditorError as exc:
        from .distributed import is_main_process

        # Every process of a torchrun launch meets the same bad input; one message is enough.
        if is_main_process():
            _error_line(f"auditor: error: {exc}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        kept = str(exc) or "no run folder was written."
        _error_line(f"auditor: interrupted ({signal.Signals(signum).name}); {kept}")
        return 128 + signum
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if os.environ.get("AUDITOR_DEBUG"):
            raise
        _error_line(
            f"auditor: internal error: {type(exc).__name__}: {exc} "
            "(a bug: please report it with the command line; AUDITOR_DEBUG=1 shows the traceback)"
        )
        return EXIT_BUG
    finally:
        restore()


def _error_line(message: str) -> None:
    """Messages may quote values that hold newlines; the user still gets exactly one line."""
    print(" ".join(message.split("\n")).replace("\r", " "), file=sys.stderr, flush=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds (and cleans up) exactly as Ctrl-C does."""

    signum = signal.SIGTERM


def _terminate_like_interrupt():
    """Install the SIGTERM handler; returns a function that puts the previous one back."""

    main_pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != main_pid:
            # A forked worker stopped before the at-fork hook reset its handler: die as it would have.
            os._exit(128 + signal.SIGTERM)
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a worker): leave signals alone
        return lambda: None
    _default_sigterm_in_forked_children()
    return lambda: signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


_FORK_HOOK = []


def _default_sigterm_in_forked_children() -> None:
    """Pool workers (cleanlab, DataLoader) are stopped with SIGTERM: they must die at once, as they would
    without our handler, not unwind the parent's code."""
    if not _FORK_HOOK and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
        _FORK_HOOK.append(True)
