"""Loading every supported input format, validating it once, and giving every row a stable id."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import DataConfig
from .errors import DataError, HubError, first_line

__all__ = ["AuditData", "load_data", "from_frame", "FILE_FORMATS", "class_label_names"]

FILE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "text",
}
TEXT_CANDIDATES = ("text", "sentence", "content", "review", "tweet", "document", "body", "utterance", "question")
LABEL_CANDIDATES = ("label", "labels", "target", "class", "category", "emotion", "sentiment", "y", "intent")
MAX_CLASSES = 1000
# Longer texts are cut (and counted): no model reads further, and character n-grams of a
# multi-megabyte text would take gigabytes. ~15,000 words, far beyond any model's context.
MAX_TEXT_CHARS = 100_000
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True, eq=False)
class AuditData:
    """Validated examples: `labels[i]` indexes `class_names`; `ids[i]` is row i's stable id."""

    ids: np.ndarray
    texts: tuple[str, ...]
    labels: np.ndarray
    class_names: tuple[str, ...]
    source: str
    format: str
    text_column: str
    label_column: str
    id_column: str | None = None
    frame: pd.DataFrame | None = None  # the rows as read, for writing a cleaned copy
    truncated: int = 0  # texts cut to MAX_TEXT_CHARS

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def name(self) -> str:
        """A short, filesystem-safe name for run folders."""
        stem = Path(self.source).stem if self.format != "hub" else self.source.replace("/", "_")
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "data"


def load_data(cfg: DataConfig, min_per_class: int = 1) -> AuditData:
    """Read `cfg.source` (a file path or a Hugging Face dataset id) and validate it."""
    path = Path(cfg.source)
    if path.exists():
        if path.is_dir():
            # A dataset repository on disk (e.g. a clone of a Hub dataset): the Hub loader reads it.
            frame, class_names = _read_hub(cfg)
            return from_frame(frame, cfg, fmt="hub", class_names=class_names, min_per_class=min_per_class)
        fmt = FILE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise DataError(f"{cfg.source}: unknown file type {path.suffix!r}; expected one of {_format_list()}.")
        frame, class_names = _read_file(path, fmt), None
    elif _looks_like_file(cfg.source) or not _HUB_ID.match(cfg.source):
        raise DataError(f"{cfg.source}: no such file (and not a Hugging Face dataset id).")
    else:
        fmt = "hub"
        frame, class_names = _read_hub(cfg)
    return from_frame(frame, cfg, fmt=fmt, class_names=class_names, min_per_class=min_per_class)


def from_frame(
    frame: pd.DataFrame,
    cfg: DataConfig,
    *,
    fmt: str = "frame",
    class_names=None,
    min_per_class: int = 1,
) -> AuditData:
    """Validate a DataFrame of examples and turn it into AuditData."""
    where = cfg.source
    if len(frame) == 0:
        raise DataError(f"{where}: the dataset is empty; expected at least 2 labelled rows.")
    text_col = _pick_column(frame, cfg.text_column, TEXT_CANDIDATES, "text", where, exclude=())
    label_col = _pick_column(frame, cfg.label_column, LABEL_CANDIDATES, "label", where, exclude=(text_col,))
    texts, truncated = _check_texts(frame[text_col], text_col, where)
    labels, names = _encode_labels(frame[label_col], label_col, where, class_names)
    ids = _ids(frame, cfg.id_column, where)
    _check_classes(labels, names, label_col, where, min_per_class)
    return AuditData(
        ids=ids,
        texts=tuple(texts),
        labels=labels,
        class_names=tuple(names),
        source=where,
        format=fmt,
        text_column=text_col,
        label_column=label_col,
        id_column=cfg.id_column,
        frame=frame,
        truncated=truncated,
    )


def _format_list() -> str:
    return ", ".join(sorted(set(FILE_FORMATS)))


def _looks_like_file(source: str) -> bool:
    return Path(source).suffix.lower() in FILE_FORMATS or source.startswith((".", "/", "~"))


def _read_file(path: Path, fmt: str) -> pd.DataFrame:
    raw = path.read_bytes()
    if fmt != "parquet":
        check_utf8(raw, path)
        if not raw.strip():
            raise DataError(f"{path}: the file is empty; expected at least 2 labelled rows.")
    try:
        return _READERS[fmt](path)
    except DataError:
        raise
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        detail = first_line(exc)
        raise DataError(f"{path}: cannot be read as {fmt.upper()}: {detail}") from None
    except Exception as exc:  # pyarrow raises its own exception types for broken files
        raise DataError(f"{path}: cannot be read as {fmt.upper()}: {type(exc).__name__}: {exc}") from None


def check_utf8(raw: bytes, path: Path, expected: str = "UTF-8 text", save_as: str = "UTF-8") -> None:
    """A binary file or bytes that are not UTF-8 get one line naming the line and the byte."""
    if b"\x00" in raw[:8192]:
        raise DataError(f"{path}: looks like a binary file (NUL bytes); expected {expected}.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as {save_as}."
        ) from None


def _read_text_lines(path: Path) -> pd.DataFrame:
    """`text;label` lines: split on the last ';' so texts may contain semicolons."""
    texts, labels = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        text, sep, label = line.rpartition(";")
        if not sep:
            raise DataError(f"{path}: line {number}: no ';' found in {line[:60]!r}; expected 'text;label'.")
        texts.append(text)
        labels.append(label.strip())
    return pd.DataFrame({"text": texts, "label": labels})


def _read_json(path: Path) -> pd.DataFrame:
    """A list of records, a dict of columns, or (if the whole file is not one JSON value) JSON lines."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.strip().count("\n") and exc.msg == "Extra data":
            return _read_jsonl(path)
        raise DataError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}.") from None
    if isinstance(value, dict):
        columns = value and all(isinstance(v, list) for v in value.values())
        if columns and len({len(v) for v in value.values()}) == 1:
            return pd.DataFrame(value)
        value = [value]  # one record, as a one-line JSON lines file would be
    if not isinstance(value, list):
        raise DataError(
            f"{path}: holds a JSON {type(value).__name__}; expected a list of records "
            '([{"text": ..., "label": ...}, ...]) or a dict of equal-length columns.'
        )
    return _records(value, path, "item")


def _read_jsonl(path: Path) -> pd.DataFrame:
    records, numbers = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        numbers.append(number)
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}, column {exc.colno}: invalid JSON: {exc.msg}.") from None
        if not isinstance(records[-1], dict):
            raise DataError(
                f"{path}: line {number}: holds a JSON {type(records[-1]).__name__}; expected an object "
                '({"text": ..., "label": ...}).'
            )
    return _frame_from_records(records, path, "line", numbers)


def _frame_from_records(records: list, path: Path, what: str, numbers=None) -> pd.DataFrame:
    try:
        return pd.DataFrame.from_records(records) if records else pd.DataFrame()
    except UnicodeEncodeError:  # pandas stores text as UTF-8; JSON escapes can hold lone surrogates
        for index, record in enumerate(records):
            try:
                json.dumps(record, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as exc:
                where = numbers[index] if numbers else index + 1
                raise DataError(
                    f"{path}: {what} {where}: holds invalid Unicode ({exc.object[exc.start]!r}, an unpaired "
                    "surrogate); expected valid text."
                ) from None
        raise


def _records(items: list, path: Path, what: str) -> pd.DataFrame:
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DataError(
                f"{path}: {what} {number}: holds a JSON {type(item).__name__}; expected an object "
                '({"text": ..., "label": ...}).'
            )
    return _frame_from_records(items, path, what)


_READERS = {
    "csv": lambda p: pd.read_csv(p, dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8-sig"),
    "tsv": lambda p: pd.read_csv(
        p, sep="\t", dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
    ),
    "json": _read_json,
    "jsonl": _read_jsonl,
    "parquet": pd.read_parquet,
    "text": _read_text_lines,
}


def _read_hub(cfg: DataConfig):
    import datasets

    try:
        ds = datasets.load_dataset(cfg.source, cfg.config_name, split=cfg.split or "train")
    except Exception as exc:  # the Hub client raises many types: offline, not found, gated, bad config
        detail = first_line(exc)
        raise HubError(f"{cfg.source}: cannot load this Hugging Face dataset: {detail}") from None
    return ds.to_pandas(), class_label_names(ds, cfg.label_column)


def class_label_names(ds, label_column: str | None) -> list[str] | None:
    """The class names of a `datasets.Dataset`'s ClassLabel column (`label_column`, else the first of
    LABEL_CANDIDATES it has); None when that column holds plain values."""
    import datasets

    label = label_column or next((c for c in LABEL_CANDIDATES if c in ds.column_names), None)
    feature = ds.features.get(label) if label else None
    return list(feature.names) if isinstance(feature, datasets.ClassLabel) else None


def _pick_column(frame, given, candidates, role, where, exclude) -> str:
    columns = [str(c) for c in frame.columns]
    if given is not None:
        if given not in columns:
            raise DataError(
                f"{where}: column {given!r} not found; columns are {columns}. Use --{role}-column."
            )
        return given
    lowered = {c.lower(): c for c in columns if c not in exclude}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise DataError(
        f"{where}: no {role} column found (looked for {', '.join(candidates[:5])}, ...); "
        f"columns are {columns}. Use --{role}-column."
    )


def _check_texts(column: pd.Series, name: str, where: str) -> tuple[list[str], int]:
    """Every row's text as a string, cut to MAX_TEXT_CHARS; returns (texts, how many were cut)."""
    if column.isna().all():
        raise DataError(
            f"{where}: column {name!r} is empty in all {len(column)} rows; is it the text column? "
            "Use --text-column."
        )
    texts, truncated = [], 0
    for row, value in enumerate(column.tolist(), start=1):
        if not isinstance(value, str):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                raise DataError(f"{where}: row {row}: column {name!r} is empty; every row needs a text.")
            if isinstance(value, (list, dict, np.ndarray, bytes)):
                raise DataError(
                    f"{where}: row {row}: column {name!r} holds a {type(value).__name__}; expected a string."
                )
            value = str(value)
        if not value.strip():
            raise DataError(f"{where}: row {row}: column {name!r} is empty; every row needs a text.")
        if len(value) > MAX_TEXT_CHARS:
            value, truncated = value[:MAX_TEXT_CHARS], truncated + 1
        _check_unicode(value, row, name, where)
        texts.append(value)
    return texts, truncated


def _check_unicode(value: str, row: int, name: str, where: str) -> None:
    """JSON escapes can smuggle in lone surrogates, which no file (or hash) can encode: refuse them here."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(
            f"{where}: row {row}: column {name!r} holds invalid Unicode ({value[exc.start]!r} at character "
            f"{exc.start + 1}, an unpaired surrogate); expected valid text."
        ) from None


def _encode_labels(column: pd.Series, name: str, where: str, class_names):
    values = column.tolist()
    for row, value in enumerate(values, start=1):
        if value is None or (isinstance(value, float) and np.isnan(value)) or (
            isinstance(value, str) and not value.strip()
        ):
            raise DataError(f"{where}: row {row}: column {name!r} has no label; every row needs one.")
        if isinstance(value, (list, dict, np.ndarray)):
            raise DataError(
                f"{where}: row {row}: column {name!r} holds a {type(value).__name__}; expected one label."
            )
    values = _numbers_from_text(values)
    for row, value in enumerate(values, start=1):
        if isinstance(value, float) and not value.is_integer():
            raise DataError(
                f"{where}: row {row}: column {name!r} has label {value!r}; expected a class name or an "
                "integer (decimal numbers look like a regression target)."
            )
    if class_names is not None:
        return _encode_class_label(values, class_names, name, where)
    kinds = {_label_kind(v) for v in values}
    if len(kinds) > 1:
        row = next(i for i, v in enumerate(values, 1) if _label_kind(v) != _label_kind(values[0]))
        raise DataError(
            f"{where}: row {row}: column {name!r} mixes integer and text labels "
            f"({values[0]!r} and {values[row - 1]!r}); expected one kind."
        )
    keys = [int(v) if kinds == {"int"} else str(v).strip() for v in values]
    if kinds != {"int"}:
        for row, key in enumerate(keys, start=1):
            _check_unicode(key, row, name, where)
    names = sorted(set(keys))
    index = {k: i for i, k in enumerate(names)}
    return np.array([index[k] for k in keys], dtype=np.int64), [str(n) for n in names]


def _numbers_from_text(values: list) -> list:
    """CSV and TSV give every label as text: if all of them are numbers, treat them as numbers."""
    if not all(isinstance(v, str) for v in values):
        return values
    try:
        numbers = [_number(v) for v in values]
    except ValueError:
        return values
    return numbers if all(math.isfinite(v) for v in numbers) else values


def _number(text: str):
    try:
        return int(text)  # exact, however large
    except ValueError:
        return float(text)


def _label_kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "str"
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        return "int"
    return "str"


def _encode_class_label(values, class_names, name, where):
    for row, value in enumerate(values, start=1):
        if not (0 <= int(value) < len(class_names)):
            raise DataError(
                f"{where}: row {row}: column {name!r} has label {value!r}; "
                f"expected 0..{len(class_names) - 1} ({', '.join(class_names)})."
            )
    return np.asarray(values, dtype=np.int64), list(class_names)


def _ids(frame: pd.DataFrame, id_column: str | None, where: str) -> np.ndarray:
    if id_column is None:
        return np.arange(len(frame), dtype=np.int64)
    if id_column not in frame.columns:
        raise DataError(
            f"{where}: column {id_column!r} not found; columns are {[str(c) for c in frame.columns]}. "
            "Use --id-column."
        )
    column = frame[id_column]
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0]) + 1
        raise DataError(f"{where}: row {row}: column {id_column!r} has no id; every row needs one.")
    duplicated = column.duplicated(keep="first").to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0]) + 1
        raise DataError(
            f"{where}: row {row}: id {column.iloc[row - 1]!r} in column {id_column!r} repeats; ids must be unique."
        )
    values = column.to_numpy()
    try:
        as_int = pd.to_numeric(column, errors="raise")
        if (as_int == as_int.round()).all():
            return as_int.to_numpy().astype(np.int64)
    except (ValueError, TypeError):
        pass
    return values.astype(str).astype(object)


def _check_classes(labels, names, label_col, where, min_per_class) -> None:
    counts = np.bincount(labels, minlength=len(names))
    present = int((counts > 0).sum())
    if present < 2:
        raise DataError(
            f"{where}: column {label_col!r} has a single class ({names[int(labels[0])]!r}); "
            "an audit needs at least 2 classes."
        )
    if len(names) > MAX_CLASSES:
        raise DataError(
            f"{where}: column {label_col!r} has {len(names)} distinct labels; expected at most {MAX_CLASSES}. "
            "Is --label-column the right column?"
        )
    small = [(names[i], int(c)) for i, c in enumerate(counts) if 0 < c < min_per_class]
    if small:
        name, count = min(small, key=lambda x: x[1])
        raise DataError(
            f"{where}: class {name!r} has {count} example(s), fewer than --folds {min_per_class}; "
            f"every class needs at least {min_per_class} (merge or drop rare classes, or lower --folds)."
        )
