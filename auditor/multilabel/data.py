"""Multi-label input: parsing label sets in the forms people keep them, validated once, into a 0/1 matrix.

Three forms of the same thing:

- "list": a column whose cells are lists (JSON lists in JSON/JSONL, list columns in Parquet or a Hub dataset);
- "joined": a column of strings joined by a separator (``6,20`` or ``joy|love``; ``--label-separator``,
  default ``,``);
- "columns": one 0/1 column per label (``--label-columns a,b,c`` or a prefix ``--label-columns 'emo_*'``).

Label ids (integers) are mapped to names by ``--label-names FILE`` (one name per line, id = line number,
as GoEmotions' emotions.txt); without it the ids themselves are the names. A headerless CSV/TSV gets its
column names from ``--column-names text,labels,id`` (TSV is then read without quoting, as GoEmotions asks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import data as _single
from ..config import DataConfig
from ..errors import DataError, OptionError, first_line
from ..input_formats import read_csv
from ..safeio import plain

__all__ = ["MultiLabelData", "load_multilabel", "multilabel_from_frame", "looks_multilabel", "read_frame",
           "format_set", "parse_set_text", "DEFAULT_SEPARATOR"]

DEFAULT_SEPARATOR = ","
_ID_LIST = re.compile(r"^\s*\d+(\s*,\s*\d+)+\s*$")


@dataclass(frozen=True, eq=False)
class MultiLabelData(_single.AuditData):
    """AuditData whose `labels` is an n × k 0/1 matrix (`labels[i, j]` = row i carries class j).

    `form` is how the input kept the sets ("list", "joined" or "columns"), so `apply` writes them back
    the same way; `label_columns` are the 0/1 columns of the "columns" form.
    """

    form: str = "joined"
    separator: str = DEFAULT_SEPARATOR
    label_columns: tuple[str, ...] = ()
    ids_as_names: bool = False  # the input holds integer ids that --label-names maps to names

    def label_sets(self) -> list[list[int]]:
        """Row i's classes as sorted indices (cleanlab's multi-label `labels` format)."""
        return [list(np.flatnonzero(row)) for row in self.labels]

    def set_text(self, i: int) -> str:
        return format_set(np.flatnonzero(self.labels[i]), self.class_names, self.separator)

    def label_cells(self, relabel: dict) -> dict:
        """{row position: {column: value}} for `apply`: each row's new set (class names) written the way the
        input writes sets: a list of its own element type, a string joined by the run's separator, or, with
        one 0/1 column per label, each cell that changes, in its column's own spelling of 0 and 1."""
        index = {n: j for j, n in enumerate(self.class_names)}
        new = {p: sorted(index[n] for n in names) for p, names in relabel.items()}
        if self.form == "columns":
            spelled = [_indicator_spellings(self, j) for j in range(len(self.label_columns))]
            return {p: {c: spelled[j][j in js] for j, c in enumerate(self.label_columns)
                        if bool(self.labels[p, j]) != (j in js)} for p, js in new.items()}
        label = self._label_value()
        if self.form == "list":
            return {p: {self.label_column: [label(j) for j in js]} for p, js in new.items()}
        return {p: {self.label_column: self.separator.join(str(label(j)) for j in js)} for p, js in new.items()}

    def _label_value(self):
        """Class index -> the value naming it in a set: its integer id (--label-names, or names that are ids)
        or its name, of the type the input's lists hold (`1` or `"1"`)."""
        sample = next((plain(v) for cell in self.frame[self.label_column]
                       if isinstance(cell, (list, tuple, np.ndarray)) for v in cell), "")
        names, ids = self.class_names, self.ids_as_names or all(_kind(n) == "int" for n in self.class_names)
        text = self.form == "list" and not (ids and isinstance(sample, (int, float)))  # lists of strings

        def value(j: int):
            raw = j if self.ids_as_names else int(names[j]) if ids else names[j]
            return str(raw) if text else raw
        return value


def format_set(indices, class_names, separator: str = DEFAULT_SEPARATOR) -> str:
    """Class names joined by `separator`, in class order (an empty set is '')."""
    return separator.join(str(class_names[int(j)]) for j in sorted(indices))


def parse_set_text(text: str, separator: str) -> list[str]:
    """'joy|love' → ['joy', 'love']; blank parts are ignored, so '' is the empty set."""
    return [part.strip() for part in str(text).split(separator) if part.strip()]


# -------------------------------------------------------------------------------------------- reading


def read_frame(cfg: DataConfig) -> tuple[pd.DataFrame, str, list | None]:
    """The rows as read (frame, format, Hub ClassLabel names or None); --column-names for headerless files."""
    path = Path(cfg.source)
    if not path.exists():
        if cfg.column_names:
            raise OptionError(f"--column-names applies to CSV/TSV files; {cfg.source} is not a file.")
        return _hub_frame(cfg)
    if path.is_dir():
        return _hub_frame(cfg)
    fmt = _single.FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{cfg.source}: unknown file type {path.suffix!r}; expected one of "
                        f"{', '.join(sorted(_single.FILE_FORMATS))}.")
    if cfg.column_names:
        return _read_headerless(path, fmt, cfg.column_names), fmt, None
    return _single._read_file(path, fmt), fmt, None


def _hub_frame(cfg: DataConfig):
    frame, names = _single._read_hub(cfg)
    return frame, "hub", names


def _read_headerless(path: Path, fmt: str, column_names: str) -> pd.DataFrame:
    names = [c.strip() for c in column_names.split(",")]
    if fmt not in ("csv", "tsv") or not all(names) or len(set(names)) != len(names):
        raise OptionError(
            f"The 'column-names' option must name the columns of a headerless CSV/TSV, comma-separated and "
            f"distinct. Got {column_names!r} for a {fmt.upper()} file instead."
        )
    raw = path.read_bytes()
    _single.check_utf8(raw, path)
    if not raw.strip():
        raise DataError(f"{path}: the file is empty; expected at least 2 labelled rows.")
    try:  # the reader apply's rewriter reads back with (a headerless TSV is read literally)
        frame = read_csv(path, "\t" if fmt == "tsv" else ",", headerless=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read as {fmt.upper()}: {first_line(exc)}") from None
    if frame.shape[1] != len(names):
        raise DataError(f"{path}: has {frame.shape[1]} columns; --column-names names {len(names)} ({column_names}).")
    frame.columns = names
    return frame


def read_label_names(path: str) -> list[str]:
    file = Path(path)
    if not file.is_file():
        raise OptionError(f"--label-names {path}: no such file; expected one label name per line.")
    names = [line.strip() for line in file.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise DataError(f"{path}: expected at least 2 distinct label names, one per line; "
                        f"got {len(names)} lines ({len(set(names))} distinct).")
    return names


# ---------------------------------------------------------------------------------------------- detection


def looks_multilabel(cfg: DataConfig) -> bool:
    """Whether `cfg` (with --task auto) is multi-label: a multi-label option is set, or the label column
    holds lists, or every label is a comma-joined list of integer ids and some have more than one.
    A file that cannot be read says nothing here: the single-label loader reports the problem."""
    if cfg.label_columns or cfg.label_separator or cfg.label_names or cfg.column_names:
        return True
    try:
        frame, _, _ = read_frame(cfg)
    except Exception:  # noqa: BLE001 - any failure is reported by the single-label path
        return False
    return frame_looks_multilabel(frame, cfg.label_column, cfg.source)


def frame_looks_multilabel(frame: pd.DataFrame, label_column: str | None, source: str = "") -> bool:
    try:
        column = _single._pick_column(frame, label_column, _single.LABEL_CANDIDATES, "label", source, exclude=())
    except DataError:
        return False
    values = frame[column].tolist()
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in values):
        return True
    strings = [v for v in values if isinstance(v, str)]
    return len(strings) == len(values) and any("," in v for v in strings) and all(
        _ID_LIST.match(v) or v.strip().isdigit() for v in strings)


# ------------------------------------------------------------------------------------------ validation


def load_multilabel(cfg: DataConfig, min_per_class: int = 1) -> MultiLabelData:
    frame, fmt, hub_names = read_frame(cfg)
    return multilabel_from_frame(frame, cfg, fmt=fmt, class_names=hub_names, min_per_class=min_per_class)


def multilabel_from_frame(frame: pd.DataFrame, cfg: DataConfig, *, fmt: str = "frame", class_names=None,
                          min_per_class: int = 1) -> MultiLabelData:
    """Validate a DataFrame of multi-label examples (any of the three forms) into MultiLabelData."""
    where = cfg.source
    if len(frame) == 0:
        raise DataError(f"{where}: the dataset is empty; expected at least 2 labelled rows.")
    if cfg.label_names:
        class_names = read_label_names(cfg.label_names)
    if cfg.label_columns:
        if cfg.label_column:
            raise OptionError("--label-column and --label-columns are two forms of the labels; give one.")
        columns = _label_columns(frame, cfg.label_columns, where)
        text_col = _single._pick_column(frame, cfg.text_column, _single.TEXT_CANDIDATES, "text", where,
                                        exclude=columns)
        matrix, names = _matrix_from_columns(frame, columns, where), list(columns)
        form, label_col, ids_as_names = "columns", None, False
    else:
        text_col = _single._pick_column(frame, cfg.text_column, _single.TEXT_CANDIDATES, "text", where,
                                        exclude=())
        label_col = _single._pick_column(frame, cfg.label_column, _single.LABEL_CANDIDATES, "label", where,
                                         exclude=(text_col,))
        sets, form = _sets_from_column(frame[label_col], label_col, where, cfg.label_separator)
        matrix, names, ids_as_names = _encode_sets(sets, label_col, where, class_names)
        columns = ()
    texts, truncated = _single._check_texts(frame[text_col], text_col, where)
    ids = _single._ids(frame, cfg.id_column, where)
    _check_label_counts(matrix, names, where, min_per_class)
    return MultiLabelData(
        ids=ids, texts=tuple(texts), labels=matrix, class_names=tuple(names), source=where, format=fmt,
        text_column=text_col, label_column=label_col or "", id_column=cfg.id_column, frame=frame,
        truncated=truncated, form=form, separator=cfg.label_separator or DEFAULT_SEPARATOR,
        label_columns=tuple(columns), ids_as_names=ids_as_names, headerless=bool(cfg.column_names),
    )


def _label_columns(frame: pd.DataFrame, spec: str, where: str) -> tuple[str, ...]:
    available = [str(c) for c in frame.columns]
    if spec.endswith("*"):
        chosen = [c for c in available if c.startswith(spec[:-1])]
        if len(chosen) < 2:
            raise DataError(f"{where}: --label-columns {spec!r} matches {len(chosen)} column(s) of {available}; "
                            "expected at least 2 label columns.")
        return tuple(chosen)
    chosen = [c.strip() for c in spec.split(",") if c.strip()]
    missing = [c for c in chosen if c not in available]
    if missing:
        raise DataError(f"{where}: label column {missing[0]!r} not found; columns are {available}. "
                        "Use --label-columns a,b,c or a prefix such as 'emo_*'.")
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise OptionError(f"The 'label-columns' option must name at least 2 distinct columns. Got {spec!r} instead.")
    return tuple(chosen)


_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}
_OTHER = {"1": "0", "1.0": "0.0", "true": "false", "yes": "no"}


def _indicator_spellings(data: MultiLabelData, j: int) -> tuple:
    """(off, on) as label column j writes them (else as any label column does, else the other value's
    opposite in its type and case), so a changed cell looks like its neighbours."""
    found: dict = {}
    for k in [j, *range(len(data.label_columns))]:
        for on in (False, True):
            rows = np.flatnonzero(data.labels[:, k] == on)
            if on not in found and len(rows):
                found[on] = plain(data.frame[data.label_columns[k]].iat[int(rows[0])])
    if len(found) == 1:
        (on, value), = found.items()
        found[not on] = _opposite(value)
    return found[False], found[True]


def _opposite(value):
    if isinstance(value, (bool, int, float)):
        return type(value)(not value)
    text = str(value).strip()
    other = {**_OTHER, **{v: k for k, v in _OTHER.items()}}[text.lower()]
    return other.upper() if text.isupper() else other.title() if text.istitle() else other


def _matrix_from_columns(frame: pd.DataFrame, columns, where: str) -> np.ndarray:
    matrix = np.zeros((len(frame), len(columns)), dtype=np.int8)
    for j, name in enumerate(columns):
        for row, value in enumerate(frame[name].tolist(), start=1):
            text = str(value).strip().lower() if not isinstance(value, (bool, np.bool_)) else str(bool(value)).lower()
            if text in _TRUE:
                matrix[row - 1, j] = 1
            elif text not in _FALSE:
                raise DataError(f"{where}: row {row}: label column {name!r} holds {value!r}; expected 0 or 1.")
    return matrix


def _sets_from_column(column: pd.Series, name: str, where: str, separator: str | None):
    """Each row's labels as a list of raw values, and the form they came in."""
    values = column.tolist()
    is_list = [isinstance(v, (list, tuple, np.ndarray)) for v in values]
    if any(is_list) and not all(is_list):
        row = is_list.index(not is_list[0]) + 1
        raise DataError(f"{where}: row {row}: column {name!r} mixes label lists and single values "
                        f"({values[0]!r} and {values[row - 1]!r}); expected one form.")
    if all(is_list):
        if separator:
            raise OptionError(f"--label-separator {separator!r} applies to joined strings; column {name!r} holds lists.")
        return [list(v) for v in values], "list"
    sets = []
    for row, value in enumerate(values, start=1):
        if value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip():
            raise DataError(f"{where}: row {row}: column {name!r} has no labels; every row needs at least one "
                            "(an empty set is allowed as [] in JSON or as all-0 --label-columns).")
        if isinstance(value, dict):
            raise DataError(f"{where}: row {row}: column {name!r} holds a dict; expected a list of labels.")
        sets.append(parse_set_text(value, separator or DEFAULT_SEPARATOR) if isinstance(value, str) else [value])
    return sets, "joined"


def _encode_sets(sets, name: str, where: str, class_names):
    """A 0/1 matrix, the class names, and whether the values were integer ids mapped through `class_names`."""
    kinds = {_kind(v) for s in sets for v in s}
    if len(kinds) > 1:
        row = next(i for i, s in enumerate(sets, 1) if any(_kind(v) == "int" for v in s))
        raise DataError(f"{where}: row {row}: column {name!r} mixes integer ids and label names; expected one kind.")
    as_ids = kinds == {"int"}
    if class_names is not None:
        names = [str(c) for c in class_names]
        index = {n: i for i, n in enumerate(names)}
    else:
        keys = sorted({int(v) if as_ids else str(v).strip() for s in sets for v in s})
        names = [str(k) for k in keys]
        index = {n: i for i, n in enumerate(names)}
    matrix = np.zeros((len(sets), len(names)), dtype=np.int8)
    for row, labels in enumerate(sets, start=1):
        for value in labels:
            j = _position(value, as_ids, index, names, class_names is not None)
            if j is None:
                expected = f"0..{len(names) - 1} or a name from --label-names" if as_ids else "one of " + (
                    ", ".join(names) if len(names) <= 30 else f"{len(names)} names")
                raise DataError(f"{where}: row {row}: column {name!r} has unknown label {value!r}; expected {expected}.")
            matrix[row - 1, j] = 1
    return matrix, names, as_ids and class_names is not None


def _kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "str"
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and float(value).is_integer()):
        return "int"
    if isinstance(value, str) and value.strip().isdigit():
        return "int"
    return "str"


def _position(value, as_ids, index, names, named) -> int | None:
    if as_ids:
        number = int(float(value))
        if named:
            return number if 0 <= number < len(names) else None
        return index.get(str(number))
    return index.get(str(value).strip())


def _check_label_counts(matrix: np.ndarray, names, where: str, min_per_class: int) -> None:
    counts = matrix.sum(axis=0)
    if int((counts > 0).sum()) < 2:
        raise DataError(f"{where}: fewer than 2 labels occur; a multi-label audit needs at least 2.")
    if len(names) > _single.MAX_CLASSES:
        raise DataError(f"{where}: {len(names)} distinct labels; expected at most {_single.MAX_CLASSES}.")
    small = [(names[j], int(c)) for j, c in enumerate(counts) if 0 < c < min_per_class]
    if small:
        name, count = min(small, key=lambda x: x[1])
        raise DataError(f"{where}: label {name!r} occurs in {count} row(s), fewer than --folds {min_per_class}; "
                        f"every label needs at least {min_per_class} (drop rare labels, or lower --folds).")
