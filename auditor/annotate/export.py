"""The annotators' CSV: most suspect first, spreadsheet-safe, never written over annotations."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..errors import OptionError, RunDirError
from ..runfiles import read_run
from ..safeio import neutralise, safe_write, write_csv

__all__ = ["SUSPECT_COLUMNS", "suspects_frame", "write_suspects", "neutralise_formula", "export_suspects",
           "annotated_rows", "run_inputs", "scores_with_neighbours", "suspect_positions"]

# Score columns keep their scores.csv names, so a sheet and scores.csv read alike.
SUSPECT_COLUMNS = [
    "rank",
    "id",
    "text",
    "given_label",
    "suggested_label",
    "suggested_label_probability",
    "loss_score",
    "label_quality_score",
    "reasons",
    "what_to_check",
    "neighbours",
    "corrected_label",
    "note",
]
ANNOTATION_COLUMNS = ("corrected_label", "note")
neutralise_formula = neutralise  # the name this module exported before the one CSV path existed
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")  # see auditor.safeio for the full rule


def suspect_positions(scores: pd.DataFrame, top: int | None = None) -> np.ndarray:
    """Positions of the rows `suspects_frame` writes, in its order."""
    order = np.argsort(scores["rank"].to_numpy(), kind="stable")
    return order[:top] if top is not None else order[scores["is_label_issue"].astype(bool).to_numpy()[order]]


def scores_with_neighbours(result, positions) -> pd.DataFrame:
    """The run's scores with neighbours computed for those of `positions` a run did not search
    (`scoring.neighbours.fill_neighbours`): on its saved embeddings.npy (the run's own features), else
    TF-IDF of its texts, said in the column when the run's method yields embeddings (the file is gone).
    Multi-label runs have no neighbours."""
    from ..scoring.neighbours import fill_neighbours

    if result.metrics.get("task") == "multi-label" or "text" not in result.scores:
        return result.scores
    try:
        return fill_neighbours(result.scores, positions, result.class_names, embeddings=result.embeddings,
                               features_note=lambda: "TF-IDF (the run used embeddings)" if _embedded(result) else "")
    except ValueError as exc:  # scores.csv edited by hand: a label outside run.json's classes
        raise RunDirError(f"scores.csv: {exc} The run folder was changed; re-run the audit.") from None


def _embedded(result) -> bool:
    """Whether the run's neighbours came from embeddings: one of its backends yields them."""
    from ..backends import backend_class

    names = str((result.run or {}).get("resolved_method", "")).split("+")
    try:
        return any(backend_class(n).yields_embeddings for n in names if n not in ("", "precomputed"))
    except (ValueError, ImportError):  # a backend this install does not have: its features are unknown
        return False


def suspects_frame(scores: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Flagged rows ordered by rank; with `top`, the `top` most suspect rows whether flagged or not."""
    chosen = scores.iloc[suspect_positions(scores, top)]
    return pd.DataFrame(
        {
            "rank": chosen["rank"].to_numpy(),
            "id": chosen["id"].to_numpy(),
            "text": chosen["text"].to_numpy(),
            "given_label": chosen["given_label"].to_numpy(),
            "suggested_label": chosen["suggested_label"].to_numpy(),
            "suggested_label_probability": chosen["suggested_label_probability"].round(4).to_numpy(),
            "loss_score": chosen["loss_score"].round(4).to_numpy(),
            "label_quality_score": chosen["label_quality_score"].round(4).to_numpy(),
            "reasons": chosen["reasons"].to_numpy(),
            "what_to_check": _what_to_check(chosen),
            # Read by annotators: the nearest texts' labels (scoring/neighbours.py); "" for older runs.
            "neighbours": chosen["neighbours"].to_numpy() if "neighbours" in chosen else "",
            "corrected_label": "",
            "note": "",
        },
        columns=SUSPECT_COLUMNS,
    )


def _what_to_check(rows: pd.DataFrame) -> np.ndarray:
    """Rows flagged only because copies of their text disagree: say that the other copies need the look."""
    out = np.full(len(rows), "", dtype=object)
    if "is_conflicting_duplicate_issue" not in rows or "duplicate_reason" not in rows:
        return out
    only_duplicate = (rows["is_conflicting_duplicate_issue"].astype(bool)
                      & ~rows["is_label_quality_issue"].astype(bool)).to_numpy()
    agrees = (rows["suggested_label"].astype(str) == rows["given_label"].astype(str)).to_numpy()
    for i in np.flatnonzero(only_duplicate):
        where = str(rows["duplicate_reason"].iat[i])
        out[i] = (f"the model agrees with this label: check the other copies ({where})" if agrees[i]
                  else f"copies disagree ({where}): give them all the right label")
    return out


def write_suspects(frame: pd.DataFrame, handle) -> None:
    """Write the annotators' CSV to a binary `handle`, or a new file at a path in a fresh private folder
    (UTF-8 with a BOM, so Excel reads it as UTF-8)."""
    if isinstance(handle, (str, Path)):
        with open(handle, "xb") as opened:
            return write_csv(frame, opened, neutralise=True, bom=True)
    write_csv(frame, handle, neutralise=True, bom=True)


def annotated_rows(path) -> int | None:
    """How many rows of an existing suspects-style CSV hold a corrected_label or note; None if it is not one."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception:  # not a CSV at all (binary, unbalanced quotes...): not ours
        return None
    if not {"id", *ANNOTATION_COLUMNS} <= set(frame.columns):
        return None
    filled = np.zeros(len(frame), dtype=bool)
    for column in ANNOTATION_COLUMNS:
        filled |= frame[column].str.strip().ne("").to_numpy()
    return int(filled.sum())


def run_inputs(run_dir, result) -> list[Path]:
    """The files a command on `run_dir` reads (and the data the run audited): never written over."""
    run_dir = Path(run_dir)
    names = ("scores.csv", "scores.parquet", "metrics.json", "run.json", "embeddings.npy")
    source = (result.run.get("data") or {}).get("source")
    return [run_dir / n for n in names] + ([Path(source)] if source else [])


def export_suspects(run_dir, top: int | None = None, out=None, overwrite: bool = False) -> tuple[Path, int]:
    """Rewrite a run's suspects.csv (or write `out`) from its saved scores; returns (path, rows).

    A suspects.csv that holds annotations (a corrected_label or note) is never replaced without
    `overwrite`; neither is any other existing file that this tool did not write, nor ever an input.
    """
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise OptionError(f"The 'top' option must be an int >= 1. Got {top!r} instead.")
    result = SimpleNamespace(**read_run(run_dir))
    path = Path(out) if out is not None else Path(run_dir) / "suspects.csv"
    annotated = annotated_rows(path) if path.is_file() and not path.is_symlink() else None
    if annotated and not overwrite:
        raise RunDirError(f"{path}: holds annotations ({annotated} row(s) with a corrected_label or note); "
                          "pass --overwrite to replace it, or --out NEW.csv to write elsewhere.")
    frame_of, write = suspects_frame, write_suspects
    if result.metrics.get("task") == "multi-label":  # hook: label sets (auditor.multilabel)
        from ..multilabel.export import suspects_frame as frame_of, write_suspects as write
    else:
        result.scores = scores_with_neighbours(result, suspect_positions(result.scores, top))
    frame = frame_of(result.scores, top)
    safe_write({path: lambda handle: write(frame, handle)}, inputs=run_inputs(run_dir, result),
               overwrite=overwrite, own=[path] if annotated == 0 else [])
    return path, len(frame)
