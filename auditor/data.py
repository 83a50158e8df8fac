"""Loading every supported input format, validating it once, and giving every row a stable id."""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import DataConfig
from .errors import DataError, DataWarning, HubError, first_line
from .input_formats import FILE_EXTENSIONS, INPUT_FORMATS, read_lines, split_lines
from .safeio import plain

__all__ = ["AuditData", "load_data", "from_frame", "FILE_FORMATS", "class_label_names", "parse_ids", "id_text",
           "split_lines", "read_lines"]

FILE_FORMATS = FILE_EXTENSIONS  # ".csv" -> "csv", from the registry in input_formats.py
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
    headerless: bool = False  # a CSV/TSV without a header row (--column-names named its columns)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def name(self) -> str:
        """A short, filesystem-safe name for run folders."""
        stem = Path(self.source).stem if self.format != "hub" else self.source.replace("/", "_")
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "data"

    def label_cells(self, relabel: dict) -> dict:
        """{row position: {column: value}} for `apply`: each row's new label (a class name) in the label column,
        written the way the input writes that class (MultiLabelData writes label sets)."""
        values = {n: _label_value(self, n) for n in set(relabel.values())}  # one look-up per class, not per row
        return {p: {self.label_column: values[n]} for p, n in relabel.items()}


def load_data(cfg: DataConfig, min_per_class: int = 1) -> AuditData:
    """Read `cfg.source` (a file path or a Hugging Face dataset id) and validate it."""
    path = Path(cfg.source)
    if path.exists():
        if path.is_dir():
            # A dataset repository on disk (e.g. a clone of a Hub dataset): the Hub loader reads it.
            if not _holds_dataset(path):
                raise DataError(f"{cfg.source}: is a folder without data files; expected a data file "
                                f"({_format_list()}) or a dataset folder.")
            frame, class_names = _read_hub(cfg)
            return from_frame(frame, cfg, fmt="hub", class_names=class_names, min_per_class=min_per_class)
        fmt = FILE_FORMATS.get(_suffix(path))
        if fmt is None or (fmt == "parquet" and _gzipped(path)):
            raise DataError(f"{cfg.source}: unknown file type {_suffix(path)!r}; expected one of {_format_list()}.")
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
    ids = _ids(frame, cfg.id_column, where, textual=fmt in INPUT_FORMATS and INPUT_FORMATS[fmt].textual)
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


def _holds_dataset(folder: Path) -> bool:
    """A folder the Hub loader can read: saved with `save_to_disk`, or data files at most two levels down."""
    if any((folder / name).is_file() for name in ("dataset_info.json", "dataset_dict.json", "state.json")):
        return True
    suffixes = set(FILE_FORMATS) | {".arrow"}
    return any(p.suffix.lower() in suffixes for p in [*folder.glob("*"), *folder.glob("*/*")] if p.is_file())


def _format_list() -> str:
    return ", ".join(sorted(set(FILE_FORMATS))) + " (text formats also gzip-compressed, e.g. .csv.gz)"


def _gzipped(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def _suffix(path: Path) -> str:
    """The format suffix, looking through a trailing .gz ('train.csv.gz' → '.csv')."""
    return Path(path.stem).suffix.lower() if _gzipped(path) else path.suffix.lower()


class _GzipFile(type(Path())):
    """A .gz path whose read_bytes/read_text give the decompressed content (pandas infers .gz itself),
    so every reader and error message keeps the name the user gave."""

    def read_bytes(self) -> bytes:
        import gzip

        try:
            return gzip.decompress(super().read_bytes())
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            raise DataError(f"{self}: cannot be decompressed as gzip: {exc}.") from None

    def read_text(self, encoding=None, errors=None, newline=None) -> str:
        return self.read_bytes().decode(encoding or "utf-8", errors or "strict")


def _looks_like_file(source: str) -> bool:
    return _suffix(Path(source)) in FILE_FORMATS or source.startswith((".", "/", "~"))


def _read_file(path: Path, fmt: str) -> pd.DataFrame:
    path = _GzipFile(path) if _gzipped(path) else path
    raw = path.read_bytes()
    if fmt != "parquet":
        check_utf8(raw, path)
        if not raw.strip():
            raise DataError(f"{path}: the file is empty; expected at least 2 labelled rows.")
    try:
        return INPUT_FORMATS[fmt].read(path)
    except DataError:
        raise
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        detail = first_line(exc)
        raise DataError(f"{path}: cannot be read as {fmt.upper()}: {detail}") from None
    except Exception as exc:  # pyarrow raises its own exception types for broken files
        raise DataError(f"{path}: cannot be read as {fmt.upper()}: {type(exc).__name__}: {exc}") from None


def check_utf8(raw: bytes, path: Path, expected: str = "UTF-8 text", save_as: str = "UTF-8") -> None:
    """A binary file, a NUL byte anywhere, or bytes that are not UTF-8 get one line naming the line and byte."""
    if b"\x00" in raw[:8192]:
        raise DataError(f"{path}: looks like a binary file (NUL bytes); expected {expected}.")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: holds a NUL byte (0x00); expected {expected} without NUL bytes.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as {save_as}."
        ) from None


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
    if "\x00" in value:
        raise DataError(f"{where}: row {row}: column {name!r} holds a NUL character (at character "
                        f"{value.index(chr(0)) + 1}); expected text without NUL characters.")


def _encode_labels(column: pd.Series, name: str, where: str, class_names):
    values = raw = column.tolist()
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
    _warn_label_variants(raw, keys, name, where)
    names = sorted(set(keys))
    index = {k: i for i, k in enumerate(names)}
    return np.array([index[k] for k in keys], dtype=np.int64), [str(n) for n in names]


def _warn_label_variants(raw: list, keys: list, name: str, where: str) -> None:
    """Say which spellings became one class, and which classes only look alike (README: labels).

    Labels are compared after trimming outer spaces, numbers by value ('1', '01' and 1.0 are class 1)
    and JSON true as the text 'True'; case and Unicode form are kept ('Joy' and 'joy' stay two classes).
    """
    spellings: dict = {}
    for value, key in zip(raw, keys):
        spellings.setdefault(key, {}).setdefault(repr(value), None)
    merged = [(k, list(v)) for k, v in spellings.items() if len(v) > 1]
    if merged:
        key, seen = merged[0]
        more = f" (and {len(merged) - 1} more class(es) like it)" if len(merged) > 1 else ""
        warnings.warn(DataWarning(f"{where}: column {name!r}: labels {', '.join(seen[:4])} are read as one class "
                                  f"{str(key)!r}{more}."), stacklevel=3)
    looks: dict = {}
    for key in spellings:
        if isinstance(key, str):
            looks.setdefault(unicodedata.normalize("NFKC", key).casefold(), []).append(key)
    alike = [v for v in looks.values() if len(v) > 1]
    if alike:
        warnings.warn(DataWarning(f"{where}: column {name!r}: classes {', '.join(map(repr, sorted(alike[0])))} differ "
                                  "only in case or Unicode form; they stay separate classes."), stacklevel=3)


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


def _label_value(data: AuditData, name: str):
    """The value to write for class `name` in the input's own style (string, int, or ClassLabel index)."""
    index = data.class_names.index(name)
    seen = np.flatnonzero(data.labels == index)
    if len(seen):
        return plain(data.frame[data.label_column].iat[int(seen[0])])
    if data.format == "hub":
        return index
    return int(name) if all(_integral(c) == c for c in data.class_names) else name


def _integral(value: str) -> str | None:
    """The decimal digits of the integer `value` spells ('12', ' 12', '12.0'), else None."""
    try:
        return str(int(value.strip()))
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return None
    # Beyond 2^53 a float is no longer exact: 9007199254740993.0 must not name 9007199254740992.
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else None


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


_CANONICAL_INT = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
INT64_RANGE = (-(2**63), 2**63)


def _ids(frame: pd.DataFrame, id_column: str | None, where: str, textual: bool = False) -> np.ndarray:
    if id_column is None:
        return np.arange(len(frame), dtype=np.int64)
    if id_column not in frame.columns:
        raise DataError(
            f"{where}: column {id_column!r} not found; columns are {[str(c) for c in frame.columns]}. "
            "Use --id-column."
        )
    return parse_ids(frame[id_column].tolist(), id_column, where, textual)


def parse_ids(values: list, name: str, where: str, textual: bool = False) -> np.ndarray:
    """The one reading of an id column, shared by validation, the scores and `apply`.

    Ids are text exactly as written ('01', '1.0' and ' 7' are three ids, none of them 1) unless every
    id is an integer in its source: an integer value in JSON or Parquet, or, in CSV/TSV where every
    value is text, a plain decimal integer (no sign but '-', no leading zero, no spaces). Then they are
    64-bit integers; one outside that range is an error. Duplicates are checked on these values, which
    are exactly what `apply` matches a corrections file against.
    """
    for row, value in enumerate(values, start=1):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise DataError(f"{where}: row {row}: column {name!r} has no id; every row needs one.")
        if isinstance(value, (list, dict, np.ndarray, bytes)):
            raise DataError(f"{where}: row {row}: column {name!r} holds a {type(value).__name__}; expected an id.")
    if textual:
        integral = all(isinstance(v, str) and _CANONICAL_INT.match(v) for v in values)
    else:
        integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values)
    if integral:
        ints = [int(v) for v in values]
        for row, value in enumerate(ints, start=1):
            if not INT64_RANGE[0] <= value < INT64_RANGE[1]:
                raise DataError(f"{where}: row {row}: id {value} in column {name!r} is outside the 64-bit integer "
                                "range (-2^63 .. 2^63-1); use shorter ids, or text ids (e.g. with a prefix).")
        ids = np.array(ints, dtype=np.int64)
    else:
        ids = np.array([id_text(v) for v in values], dtype=object)
        for row, value in enumerate(ids, start=1):
            _check_unicode(value, row, name, where)
    _check_unique(ids, values, name, where)
    return ids


def id_text(value) -> str:
    """The text of an id, as `apply` matches it: what was written (an integer's decimal digits)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _check_unique(ids: np.ndarray, values: list, name: str, where: str) -> None:
    first: dict = {}
    for row, key in enumerate(ids.tolist(), start=1):
        if key in first:
            was, now = values[first[key] - 1], values[row - 1]
            same = "" if id_text(was) == id_text(now) and type(was) is type(now) else (
                f" (as {id_text(now)!r}, the same id as row {first[key]}'s {was!r}: ids are compared as text)")
            raise DataError(f"{where}: row {row}: id {now!r} in column {name!r} repeats{same}; ids must be unique.")
        first[key] = row


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
