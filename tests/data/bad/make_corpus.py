"""Regenerate the files of this corpus that are awkward to write by hand (binary, odd encodings, arrays).

Run from anywhere: `python tests/data/bad/make_corpus.py`. The output is committed; this script only
documents how it was made. The 5 MB text and the 10,000-label file are built at test time instead.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# Twelve rows, two clear classes: enough for `--method tfidf --folds 2`.
TEXTS = [
    "the match was great", "the coach shouted at the team", "a goal in the last minute",
    "the stadium was full", "football league tonight", "the team won the match",
    "pizza for dinner", "bread and cheese", "a pasta recipe", "the oven is hot",
    "cheese on toast for dinner", "fresh bread from the oven",
]
LABELS = ["sport"] * 6 + ["food"] * 6

TRICKY = [
    'she said "hello,\nworld" and left',
    "line one\nline two\r\nline three",
    '"quoted" at the start',
    'a lone " quote',
    "commas, everywhere, here",
    "ends with a backslash \\",
]
UNICODE = [
    "goal!!! ⚽🔥🏆 the match",
    "مباراة كرة القدم رائعة the match",  # Arabic, right to left
    "הקבוצה ניצחה the team",  # Hebrew
    "zero\u200bwidth\u200cjoin\u200dthe\ufeffteam",
    "\u202eRTL override\u202c football",
    "combining e\u0301 and a\u0308 in the league",
    "pizza 🍕 for dinner",
    "パスタのレシピ a pasta recipe",
    "\u200b\u200b",  # only zero-width characters: not whitespace, so it is a (strange) text
    "bread 🥖 and cheese 🧀",
    "Ünïcödé ovens are hot",
    "𝕗𝕣𝕖𝕤𝕙 bread",
]


def _csv_bytes(rows, header=("text", "label")) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def main() -> None:
    (HERE / "small.csv").write_bytes(_csv_bytes(zip(TEXTS, LABELS)))
    (HERE / "embedded_newlines_quotes.csv").write_bytes(
        _csv_bytes(zip([t + " " + x for t, x in zip(TEXTS, TRICKY * 2)], LABELS))
    )
    (HERE / "unicode_text.csv").write_bytes(_csv_bytes(zip(UNICODE, LABELS)))
    (HERE / "bom.csv").write_bytes(b"\xef\xbb\xbf" + _csv_bytes(zip(TEXTS, LABELS)))
    (HERE / "crlf.csv").write_bytes(_csv_bytes(zip(TEXTS, LABELS)).replace(b"\n", b"\r\n"))
    # A pandas export of an int column that had a missing value: labels written as 1.0, 2.0.
    (HERE / "integral_float_labels.csv").write_bytes(_csv_bytes(zip(TEXTS, ["1.0"] * 6 + ["2.0"] * 6)))
    # In a CSV every value is text, so "1" and "food" are simply two class names.
    (HERE / "mixed_labels.csv").write_bytes(_csv_bytes(zip(TEXTS, ["1"] * 6 + ["food"] * 6)))
    latin = _csv_bytes(zip(TEXTS, LABELS)).replace(b"pizza", "pizzé".encode("latin-1"))
    (HERE / "non_utf8.csv").write_bytes(latin)
    rng = np.random.default_rng(0)
    (HERE / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())
    frame = pd.DataFrame({"text": TEXTS, "label": LABELS})
    nested_text = frame.assign(text=[{"title": t, "words": t.split()} for t in TEXTS])
    nested_text.to_parquet(HERE / "nested_text.parquet", index=False)
    frame.assign(meta=[{"source": "web", "tags": ["a", "b"]}] * 12, tokens=[t.split() for t in TEXTS]).to_parquet(
        HERE / "nested_extra.parquet", index=False
    )
    good = np.where(np.array(LABELS)[:, None] == np.array(["food", "sport"]), 0.9, 0.1)
    np.save(HERE / "probs_good.npy", good)
    np.save(HERE / "probs_wrong_shape.npy", good[:, :1])
    np.save(HERE / "probs_transposed.npy", good.T)
    nan = good.copy()
    nan[4, 1] = np.nan
    np.save(HERE / "probs_nan.npy", nan)
    off = good.copy()
    off[7] = [0.5, 0.2]
    np.save(HERE / "probs_not_summing.npy", off)
    (HERE / "probs_not_numpy.npy").write_bytes(b"0.9,0.1\n0.1,0.9\n")


if __name__ == "__main__":
    main()
