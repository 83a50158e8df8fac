"""Regenerate the files of this corpus that are awkward to write by hand (binary, odd encodings, arrays).

Run from anywhere: `python tests/data/bad/make_corpus.py`. The output is committed; this script only
documents how it was made. The 5 MB text and the 10,000-label file are built at test time instead.
"""

from __future__ import annotations

import csv
import io
import json
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
    hostile()
    multilabel_probs()


def _jsonl(records, name: str, prefix: bytes = b"", sep: str = "\n") -> None:
    text = sep.join(json.dumps(r, ensure_ascii=False) for r in records) + sep
    (HERE / name).write_bytes(prefix + text.encode("utf-8"))


def _records(**columns):
    rows = [{"text": t, "label": lab} for t, lab in zip(TEXTS, LABELS)]
    for key, values in columns.items():
        for row, value in zip(rows, values):
            row[key] = value
    return rows


def hostile() -> None:
    """Issue 18's hostile cases: cells that break quoting, ids that read alike, lines cut at the wrong place."""
    formulas = ["x\r=cmd|' /C calc'!A0", "\n+1 goal", "\t@SUM(A1)", " -2 team", "'quoted' start", "=1+1"]
    hostile_texts = [f + " " + t for f, t in zip(formulas * 2, TEXTS)]
    # Python's csv module (and pandas) leave a lone CR unquoted unless told to quote: that file is broken.
    (HERE / "cr_unquoted.csv").write_bytes(_csv_bytes(zip(hostile_texts, LABELS)))
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows([("text", "label"),
                                                                                *zip(hostile_texts, LABELS)])
    (HERE / "cr_formula.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    same_number = ["0", "1", "01", "1.0", "1e1", " 7", "7", "+3", "0x10", "inf", "-0", "00"]
    (HERE / "ids_same_number.csv").write_bytes(_csv_bytes(zip(same_number, TEXTS, LABELS), ("id", "text", "label")))
    (HERE / "ids_negative.csv").write_bytes(_csv_bytes(zip(range(-6, 6), TEXTS, LABELS), ("id", "text", "label")))
    _jsonl(_records(id=[2**53 + i for i in range(12)]), "ids_big.jsonl")
    # JSON numbers that are no integers (Python's json reads Infinity): ids are then text, as written in Python.
    ids = ["Infinity", "-Infinity", "1.5", "2.5", "3.5", "4.5"] + [json.dumps(c) for c in "abcdef"]
    (HERE / "ids_inf.jsonl").write_text("".join(
        '{"id": %s, "text": %s, "label": "%s"}\n' % (i, json.dumps(t), lab) for i, t, lab in zip(ids, TEXTS, LABELS)
    ), encoding="utf-8")
    separators = ["\u2028", "\u0085", "\x0c", "\x0b", "\u2029", "\r", "\x1c", "\x1d", "\x1e", "\u2028\u2029", "", ""]
    lines = [f"{t}{s}more;{lab}" for t, s, lab in zip(TEXTS, separators, LABELS)]
    (HERE / "line_separators.txt").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    _jsonl(_records(text=[t + "\u2028" + "\u0085end" for t in TEXTS]), "u2028.jsonl")
    (HERE / "crlf_lines.txt").write_bytes("".join(f"{t};{lab}\r\n" for t, lab in zip(TEXTS, LABELS)).encode("utf-8"))
    _jsonl(_records(), "bom_blank_lines.jsonl", prefix=b"\xef\xbb\xbf\n", sep="\n\n")
    (HERE / "apostrophe_classes.csv").write_bytes(_csv_bytes(zip(TEXTS, ["'-neg"] * 6 + ["-neg"] * 6)))
    (HERE / "label_spellings.csv").write_bytes(_csv_bytes(zip(TEXTS, ["1", "01"] * 3 + ["2"] * 6)))
    _jsonl(_records(label=[True, "True"] * 3 + [False] * 6), "label_bool.jsonl")
    (HERE / "label_case.csv").write_bytes(_csv_bytes(zip(TEXTS, ["Sport", "sport"] * 3 + ["food"] * 6)))
    (HERE / "formula_labels.csv").write_bytes(_csv_bytes(zip(TEXTS, ["=SUM(A1)"] * 6 + ["@food"] * 6)))
    (HERE / "json_array.json").write_text(json.dumps(_records(), indent=1), encoding="utf-8")
    (HERE / "json_columns.json").write_text(json.dumps({"text": TEXTS, "label": LABELS}), encoding="utf-8")
    spaced = [" 7", "7", "7 ", "a", " a", "a "] + [f"r{i}" for i in range(6)]
    (HERE / "ids_whitespace.csv").write_bytes(_csv_bytes(zip(spaced, TEXTS, LABELS), ("id", "text", "label")))
    late = _csv_bytes(zip([t + " " + "x" * 900 for t in TEXTS], LABELS))
    (HERE / "nul_late.csv").write_bytes(late[:9000] + b"\x00" + late[9000:])
    _jsonl(_records(text=[t if i != 4 else t + "\x00" for i, t in enumerate(TEXTS)]), "nul_escape.jsonl")
    _jsonl(_records(label=[lab if i != 2 else "sp\x00ort" for i, lab in enumerate(LABELS)]), "nul_label.jsonl")
    _jsonl(_records(id=[1, "1"] + list(range(2, 12))), "ids_str_and_int.jsonl")
    _jsonl(_records(id=[2**63] + list(range(1, 12))), "ids_huge.jsonl")
    _jsonl(_records(id=[True, False] * 6), "ids_bool.jsonl")
    _jsonl(_records(id=[[1]] + list(range(1, 12))), "ids_list.jsonl")
    (HERE / "ids_missing.csv").write_bytes(_csv_bytes(zip(["a", "b", ""] + list("defghijkl"), TEXTS, LABELS),
                                                      ("id", "text", "label")))
    (HERE / "json_scalar.json").write_text("42\n", encoding="utf-8")
    (HERE / "jsonl_array_line.jsonl").write_text(
        '{"text": "a", "label": "x"}\n["b", "y"]\n{"text": "c", "label": "x"}\n', encoding="utf-8")


def multilabel_probs() -> None:
    """--pred-probs for multi_label.jsonl (3 rows; labels food, sport): one probability per label, rows need
    not sum to 1; a CSV names its columns by label, in any order."""
    good = np.array([[0.2, 0.9], [0.8, 0.7], [0.9, 0.1]])
    np.save(HERE / "ml_probs_good.npy", good)
    (HERE / "ml_probs_good.csv").write_bytes(_csv_bytes(good[:, ::-1].tolist(), ("sport", "food")))
    np.save(HERE / "ml_probs_wrong_shape.npy", np.hstack([good, good[:, :1]]))
    nan = good.copy()
    nan[1, 0] = np.nan
    np.save(HERE / "ml_probs_nan.npy", nan)
    high = good.copy()
    high[2, 1] = 1.7
    np.save(HERE / "ml_probs_above_one.npy", high)
    (HERE / "ml_probs_unknown_column.csv").write_bytes(_csv_bytes(good.tolist(), ("food", "sports")))
    (HERE / "ml_probs_missing_column.csv").write_bytes(_csv_bytes(good[:, :1].tolist(), ("food",)))
    (HERE / "ml_probs_text_cell.csv").write_bytes(_csv_bytes([[0.2, 0.9], [0.8, "high"], [0.9, 0.1]],
                                                             ("food", "sport")))


if __name__ == "__main__":
    main()
