"""Input file formats: each one entry in INPUT_FORMATS, read by data loading and written back by apply.

An `InputFormat` names its file extensions, how to read a file into rows (`read`), and how to write the
cleaned copy (`rewrite`). The rewrite keeps apply's promise: every row nobody corrected comes out as it
went in, byte for byte in CSV, TSV, JSON Lines and `text;label` files (with the file's BOM, header, blank
lines, quoting and line ends), value for value in JSON (an array stays an array, a dict of columns a dict
of columns) and Parquet; a corrected row changes in its label cell(s) only (what is written there is the
task's: a class, a set of labels, or 0/1 cells; `Edit`). Rewriters copy the input's own text
(`source_bytes`), so a row the tool did not change is never re-serialised.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning
from .safeio import plain, write_csv

__all__ = ["InputFormat", "INPUT_FORMATS", "FILE_EXTENSIONS", "CLEANED_EXTENSIONS", "register", "Edit", "split_lines", "read_lines",
           "read_csv"]


@dataclass(frozen=True)
class InputFormat:
    """One input format. `read(path)` gives the rows as a DataFrame (raising DataError on bad content);
    `rewrite(data, edit)` gives a function writing the cleaned copy of `data` to a binary handle."""

    name: str
    extensions: tuple[str, ...]  # lower-case, with the dot; () for sources that are not one file (the Hub)
    read: Callable[[Path], pd.DataFrame] | None
    rewrite: Callable
    cleaned_extension: str  # the cleaned copy is cleaned.<this>
    textual: bool = False  # every value is text as written (ids compare as text)


INPUT_FORMATS: dict[str, InputFormat] = {}
FILE_EXTENSIONS: dict[str, str] = {}  # ".csv" -> "csv": kept by `register`, read by data loading
CLEANED_EXTENSIONS: dict[str, str] = {}  # "text" -> "txt": kept by `register`, read by apply


def register(fmt: InputFormat) -> InputFormat:
    """Add `fmt` to the registry (once per name and extension)."""
    taken = [e for e in fmt.extensions if e in FILE_EXTENSIONS]
    if fmt.name in INPUT_FORMATS or taken:
        raise ValueError(f"input format {fmt.name!r}: name or extension {taken} is registered already")
    INPUT_FORMATS[fmt.name] = fmt
    FILE_EXTENSIONS.update(dict.fromkeys(fmt.extensions, fmt.name))
    CLEANED_EXTENSIONS[fmt.name] = fmt.cleaned_extension
    return fmt


# ------------------------------------------------------------------------------------------- reading


def split_lines(text: str) -> list[str]:
    """`text` cut after every '\\n' only, each piece keeping its line end.

    Not `str.splitlines`: that also cuts at U+2028, U+0085, form feeds and lone CRs, which may sit
    inside a text (or a JSON string), turning one example into two and shifting every later id.
    """
    pieces = text.split("\n")
    lines = [p + "\n" for p in pieces[:-1]]
    return lines + ([pieces[-1]] if pieces[-1] else [])


def source_bytes(source) -> bytes:
    """The bytes of the input file `source` as its readers see them (a .gz file decompressed)."""
    import gzip

    raw = Path(source).read_bytes()
    return gzip.decompress(raw) if str(source).lower().endswith(".gz") else raw


def read_lines(path: Path) -> tuple[bool, list[str]]:
    """(whether the file starts with a UTF-8 BOM, its lines with their line ends); the BOM is not in them."""
    text = source_bytes(path).decode("utf-8")
    bom = text.startswith("\ufeff")
    return bom, split_lines(text[1:] if bom else text)


def _content_lines(path: Path):
    """(line number, line without its '\\n' or '\\r\\n') for every line that is not blank."""
    for number, line in enumerate(read_lines(path)[1], start=1):
        line = line[:-1] if line.endswith("\n") else line
        line = line[:-1] if line.endswith("\r") else line
        if line.strip():
            yield number, line


def _read_text_lines(path: Path) -> pd.DataFrame:
    """`text;label` lines: split on the last ';' so texts may contain semicolons."""
    texts, labels = [], []
    for number, line in _content_lines(path):
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
    for number, line in _content_lines(path):
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

# ------------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Edit:
    """What apply changes. `relabel` maps a row position to the cells its correction rewrites,
    {column (key): new value in the input's own style}: the label column for a class or a set of labels,
    each changed 0/1 column for sets kept as one column per label."""

    relabel: dict
    deleted: set
    add_id: str | None  # a column to add holding each row's id, or None
    ids: np.ndarray

    def record(self, position: int, record: dict) -> dict:
        """A JSON record with its corrections (the id first, as a column of its own)."""
        if position in self.relabel:
            record = {**record, **self.relabel[position]}
        return {self.add_id: plain(self.ids[position]), **record} if self.add_id else record

    def columns(self) -> dict:
        """{column: {row position: new value}}: the corrections column by column."""
        by_column: dict = {}
        for position, cells in self.relabel.items():
            for column, value in cells.items():
                by_column.setdefault(column, {})[position] = value
        return by_column


def _edit_lines(data, edit: Edit) -> str:
    """JSON Lines and `text;label` files: each kept line as it was, corrected lines rewritten."""
    bom, lines = read_lines(data.source)
    out, position = ["\ufeff"] if bom else [], 0
    for line in lines:
        body = line.rstrip("\r\n")
        if not body.strip():  # blank lines are no rows: keep them
            out.append(line)
            continue
        ending = line[len(body):]
        if position not in edit.deleted:
            out.append(_edit_line(body, position, edit, data.format) + ending)
        position += 1
    return "".join(out)


def _edit_line(body: str, position: int, edit: Edit, fmt: str) -> str:
    if fmt == "text":
        if position not in edit.relabel:
            return body
        (value,) = edit.relabel[position].values()  # a `text;label` line has one label cell
        return body.rpartition(";")[0] + ";" + str(value)
    if position in edit.relabel:
        body = json.dumps(edit.record(position, json.loads(body)), ensure_ascii=False)
    elif edit.add_id:  # the line as it was, with the id put in front of its first key
        brace = body.index("{") + 1
        body = f"{body[:brace]}{json.dumps(edit.add_id)}: {json.dumps(plain(edit.ids[position]))}, {body[brace:]}"
    return body


def _json_value(source):
    """The whole JSON file's value, or None when it is JSON lines."""
    try:
        return json.loads(source_bytes(source).decode("utf-8-sig"))
    except json.JSONDecodeError:
        return None


def _edit_json(data, edit: Edit) -> str:
    """A JSON array of records stays an array; a dict of columns stays a dict of columns."""
    value = _json_value(data.source)
    indent = 2 if "\n" in source_bytes(data.source).decode("utf-8-sig").strip() else None
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        n = len(next(iter(value.values())))
        keep = [i for i in range(n) if i not in edit.deleted]
        columns = {k: [v[i] for i in keep] for k, v in value.items()}
        for column, new in edit.columns().items():
            if column in columns:
                columns[column] = [new.get(i, value[column][i]) for i in keep]
        if edit.add_id:
            columns = {edit.add_id: [plain(edit.ids[i]) for i in keep], **columns}
        return json.dumps(columns, ensure_ascii=False, indent=indent) + "\n"
    records = value if isinstance(value, list) else [value]
    kept = [edit.record(i, r) for i, r in enumerate(records) if i not in edit.deleted]
    return json.dumps(kept, ensure_ascii=False, indent=indent) + "\n"


def _edit_parquet(data, edit: Edit, handle) -> None:
    """Parquet value for value: the table as stored, rows taken out and label cells replaced."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(data.source)
    keep = [i for i in range(table.num_rows) if i not in edit.deleted]
    for name, new in edit.columns().items():
        column = table.column(name).to_pylist()
        for position, value in new.items():
            column[position] = value
        index = table.schema.get_field_index(name)
        table = table.set_column(index, table.schema.field(index), pa.array(column, type=table.schema.field(index).type))
    table = table.take(pa.array(keep, type=pa.int64()))
    if edit.add_id:
        table = table.add_column(0, edit.add_id, pa.array([plain(edit.ids[i]) for i in keep]))
    pq.write_table(table, handle)


def _with_cells(frame: pd.DataFrame, edit: Edit, as_text: bool = False) -> pd.DataFrame:
    """A copy of `frame` with the corrected cells written (as text: as a CSV reader gives them back)."""
    frame = frame.copy()
    for name, new in edit.columns().items():
        column = frame[name].astype(object)
        for position, value in new.items():
            column.iat[position] = str(value) if as_text else value
        frame[name] = column
    return frame


def _edit_frame(frame: pd.DataFrame, edit: Edit) -> pd.DataFrame:
    frame = _with_cells(frame.reset_index(drop=True), edit)
    if edit.add_id:
        frame.insert(0, edit.add_id, edit.ids)
    return frame.drop(index=sorted(edit.deleted)).reset_index(drop=True)


def _rewrite_lines(data, edit: Edit):
    return lambda handle: handle.write(_edit_lines(data, edit).encode("utf-8"))


def _rewrite_json(data, edit: Edit):
    if _json_value(data.source) is None:  # JSON lines in a .json file: line for line
        return _rewrite_lines(data, edit)
    return lambda handle: handle.write(_edit_json(data, edit).encode("utf-8"))


def _rewrite_parquet(data, edit: Edit):
    return lambda handle: _edit_parquet(data, edit, handle)


def _rewrite_csv(sep: str):
    def rewrite(data, edit: Edit):
        headerless = data.headerless
        text = _edit_csv(data, edit, sep)
        if text is not None:
            return lambda handle: handle.write(text.encode("utf-8"))
        warnings.warn(DataWarning(f"{data.source}: its rows could not be told apart as written, so the cleaned "
                                  "copy holds the same values in re-quoted rows (not the same bytes)."))
        frame = _edit_frame(data.frame, edit)
        if not headerless:
            return lambda handle: write_csv(frame, handle, neutralise=False, sep=sep)
        try:  # no header row to write, and a literal TSV has no quotes: its reader's own dialect
            body = frame.to_csv(sep=sep, header=False, index=False, quoting=_quoting(sep, headerless))
        except csv.Error:
            raise DataError(f"{data.source}: a corrected cell holds a tab or line end, which a headerless TSV "
                            "(read without quotes) cannot hold; nothing was written.") from None
        return lambda handle: handle.write(body.encode("utf-8"))
    return rewrite


def _quoting(sep: str, headerless: bool) -> int:
    """A headerless TSV (--column-names) is read literally, every tab a separator and quotes plain text
    (GoEmotions' README: its comments hold stray quotes); every other CSV/TSV as pandas reads by default."""
    return csv.QUOTE_NONE if headerless and sep == "\t" else csv.QUOTE_MINIMAL


def _csv_patterns(sep: str, literal: bool = False) -> tuple[re.Pattern, re.Pattern]:
    """(one cell, one row with its line end) as pandas' reader splits them: a cell is quoted ('""' is a
    quote inside; text after the closing quote up to the separator belongs to the cell) or unquoted (any
    quote in it is literal); rows end at CRLF, LF or a lone CR outside quotes. `literal`: no quoting at all."""
    s = re.escape(sep)
    cell = rf"[^{s}\r\n]*" if literal else rf'(?:"[^"]*(?:""[^"]*)*"[^{s}\r\n]*|[^"{s}\r\n][^{s}\r\n]*|)'
    return re.compile(cell), re.compile(rf"{cell}(?:{s}{cell})*(?:\r\n|\n|\r|\Z)")


def _csv_rows(text: str, sep: str, literal: bool = False) -> list[str] | None:
    """`text` cut into its rows as written, each with its line end; None where no row fits (an unclosed quote)."""
    pieces = _csv_patterns(sep, literal)[1].findall(text)  # the rows, then an empty match at the very end
    return pieces if "".join(pieces) == text else None  # joined, they are the text only when nothing was skipped


def _edit_csv(data, edit: Edit, sep: str) -> str | None:
    """The cleaned CSV/TSV text: the file as it was (BOM, header, blank lines, line ends, quoting), deleted rows
    taken out, the ids in a first column when added, and a corrected row changed in its corrected cells only.
    None when the rows as cut here do not read back as the intended rows (a dialect pandas reads otherwise)."""
    headerless = data.headerless
    literal = _quoting(sep, headerless) == csv.QUOTE_NONE
    text = source_bytes(data.source).decode("utf-8")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    pieces = _csv_rows(text[len(bom):], sep, literal)
    if pieces is None:
        return None
    # pandas skips empty rows and rows of spaces and tabs (other than the separator): they hold no data.
    blank = " \t\r\n".replace(sep, "")
    rows = [i for i, piece in enumerate(pieces) if piece.strip(blank)]  # the header, then the data rows
    frame = data.frame
    first = 0 if headerless else 1  # the first data row
    if len(rows) != len(frame) + first:
        return None
    shift = 0 if isinstance(frame.index, pd.RangeIndex) else frame.index.nlevels  # index cells come first
    cell = {c: i + shift for i, c in enumerate(frame.columns)}
    for position, cells in edit.relabel.items():
        row = rows[position + first]
        pieces[row] = _rewrite_cells(pieces[row], {cell[c]: v for c, v in cells.items()}, sep, literal)
        if pieces[row] is None:
            return None
    ids = [str(i) for i in np.asarray(edit.ids).tolist()] if edit.add_id else []
    if edit.add_id:
        if not headerless:
            pieces[rows[0]] = f"{_csv_cell(edit.add_id)}{sep}{pieces[rows[0]]}"
        for index, id_text in zip(rows[first:], ids):
            pieces[index] = f"{id_text}{sep}{pieces[index]}"
    for position in edit.deleted:
        pieces[rows[position + first]] = ""
    cleaned = bom + "".join(pieces)
    return cleaned if _reads_as_edited(cleaned, data, edit, sep, ids) else None


def _csv_cell(value) -> str:
    """A cell the tool writes: quoted unless it is a plain word or number (ids, the id column's name)."""
    value = str(value)
    return value if re.fullmatch(r"\w+", value) else '"' + value.replace('"', '""') + '"'


def _rewrite_cells(piece: str, values: dict, sep: str, literal: bool = False) -> str | None:
    """Row text `piece` with each cell number in `values` replaced by its value, quoted (as written in a
    literal TSV); every other byte as it was. None when the row has no such cell."""
    cell, _ = _csv_patterns(sep, literal)
    body = piece.rstrip("\r\n")
    spans, at = [], 0
    while True:
        found = cell.match(body, at)
        spans.append((found.start(), found.end()))
        if found.end() >= len(body) or body[found.end()] != sep:
            break
        at = found.end() + 1
    if max(values) >= len(spans):
        return None
    for index in sorted(values, reverse=True):  # right to left: the spans to the left stay where they are
        start, end = spans[index]
        value = str(values[index])
        body = body[:start] + (value if literal else '"' + value.replace('"', '""') + '"') + body[end:]
    return body + piece[len(piece.rstrip("\r\n")):]


def _reads_as_edited(cleaned: str, data, edit: Edit, sep: str, ids: list[str]) -> bool:
    """Whether `cleaned`, read as the input was, gives exactly the input's rows with the edit applied."""
    import io

    headerless = data.headerless
    expected = _with_cells(data.frame, edit, as_text=True)
    if edit.add_id:
        expected.insert(0, edit.add_id, pd.Series(ids, dtype=object, index=expected.index))
    keep = np.ones(len(expected), dtype=bool)
    keep[sorted(edit.deleted)] = False
    try:
        got = read_csv(io.BytesIO(cleaned.encode("utf-8")), sep, headerless)
    except (ValueError, pd.errors.ParserError, csv.Error):
        return False
    if headerless and got.shape[1] == expected.shape[1]:
        got.columns = expected.columns
    drop = isinstance(data.frame.index, pd.RangeIndex)  # else the first cells are the index: compare them too
    got, expected = got.reset_index(drop=drop), expected[keep].reset_index(drop=drop)
    return list(got.columns) == list(expected.columns) and got.equals(expected)


def _rewrite_frame_as_parquet(data, edit: Edit):
    frame = _edit_frame(data.frame, edit)
    return lambda handle: frame.to_parquet(handle, index=False)  # a Hub dataset: parquet keeps the types


def read_csv(path, sep: str, headerless: bool = False) -> pd.DataFrame:
    """A CSV/TSV's rows as text cells (blank cells missing); `headerless`: no header row, columns 0, 1, ...
    (a headerless TSV read literally: `_quoting`)."""
    return pd.read_csv(path, sep=sep, dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                       header=None if headerless else "infer", quoting=_quoting(sep, headerless))


def _read_csv(sep: str):
    return lambda path: read_csv(path, sep)


# ------------------------------------------------------------------------------------------ registry

register(InputFormat("csv", (".csv",), _read_csv(","), _rewrite_csv(","), "csv", textual=True))
register(InputFormat("tsv", (".tsv", ".tab"), _read_csv("\t"), _rewrite_csv("\t"), "tsv", textual=True))
register(InputFormat("json", (".json",), _read_json, _rewrite_json, "json"))
register(InputFormat("jsonl", (".jsonl", ".ndjson"), _read_jsonl, _rewrite_lines, "jsonl"))
register(InputFormat("parquet", (".parquet", ".pq"), pd.read_parquet, _rewrite_parquet, "parquet"))
register(InputFormat("text", (".txt",), _read_text_lines, _rewrite_lines, "txt", textual=True))
# A Hugging Face dataset (an id or a folder) is read by data._read_hub; its cleaned copy is Parquet.
register(InputFormat("hub", (), None, _rewrite_frame_as_parquet, "parquet"))
