"""suspects.csv: the spreadsheet annotators fill in (the default format)."""

from __future__ import annotations

from pathlib import Path

NAME = "csv"
DEFAULT_NAME = "suspects.csv"
NEXT_STEPS = ""


def write(suspects, path: Path, run_info: dict) -> list[Path]:
    from ..export import write_suspects

    write_suspects(suspects, Path(path))
    return [Path(path)]


def read_sheet(path: Path):
    """An annotated CSV as text cells (a spreadsheet's BOM and padded headers tolerated); one-line errors."""
    import pandas as pd

    from ...data import check_utf8
    from ...errors import DataError, first_line

    path = Path(path)
    check_utf8(path.read_bytes(), path, expected="a UTF-8 CSV", save_as="'CSV UTF-8'")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read as CSV: {first_line(exc)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read(path: Path, separator: str | None = None):
    """The filled-in CSV; rows are numbered as a spreadsheet shows them (the header is row 1). A cell
    holds a set as written, so `separator` changes nothing here."""
    from ...errors import DataError

    frame = read_sheet(path)
    missing = [c for c in ("id", "corrected_label") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: column {missing[0]!r} not found; columns are {list(frame.columns)}. "
                        "Expected the suspects.csv columns (id, ..., corrected_label, note).")
    if "note" not in frame.columns:
        frame["note"] = ""
    frame.index = range(2, len(frame) + 2)
    return frame


def matches(document) -> bool:
    return document is None
