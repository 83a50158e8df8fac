"""Loading every input format, column detection, class names and stable ids."""

import json

import datasets
import numpy as np
import pandas as pd
import pytest

from auditor.config import DataConfig
from auditor.data import load_data
from auditor.errors import DataError

ROWS = [
    {"text": "i feel great; really", "label": "joy", "uid": "a1"},
    {"text": "so sad today", "label": "sadness", "uid": "b2"},
    {"text": "what a lovely day", "label": "joy", "uid": "c3"},
    {"text": "i am furious", "label": "anger", "uid": "d4"},
]


def _write(tmp_path, fmt):
    frame = pd.DataFrame(ROWS)
    path = tmp_path / f"data.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif fmt == "json":
        path.write_text(json.dumps(ROWS), encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "txt":
        path.write_text("".join(f"{r['text']};{r['label']}\n" for r in ROWS), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet", "txt"])
def test_every_format_loads_the_same_rows(tmp_path, fmt):
    data = load_data(DataConfig(source=str(_write(tmp_path, fmt))))
    assert data.texts == tuple(r["text"] for r in ROWS)
    assert data.class_names == ("anger", "joy", "sadness")  # sorted: a stable order
    assert [data.class_names[i] for i in data.labels] == [r["label"] for r in ROWS]
    assert data.ids.tolist() == [0, 1, 2, 3]


def test_text_label_lines_split_on_the_last_semicolon(tmp_path):
    data = load_data(DataConfig(source=str(_write(tmp_path, "txt"))))
    assert data.texts[0] == "i feel great; really"


def test_id_column_is_kept(tmp_path):
    data = load_data(DataConfig(source=str(_write(tmp_path, "csv")), id_column="uid"))
    assert list(data.ids) == ["a1", "b2", "c3", "d4"]


def test_named_columns_and_integer_labels(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"sentence": ["a b", "c d", "e f"], "target": [2, 0, 2]}).to_csv(path, index=False)
    data = load_data(DataConfig(source=str(path), text_column="sentence", label_column="target"))
    assert data.class_names == ("0", "2")
    assert data.labels.tolist() == [1, 0, 1]


def test_detects_common_column_names(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"review": ["good", "bad"], "sentiment": ["pos", "neg"]}).to_csv(path, index=False)
    data = load_data(DataConfig(source=str(path)))
    assert (data.text_column, data.label_column) == ("review", "sentiment")


def test_local_hub_style_dataset_keeps_classlabel_names(tmp_path):
    """A dataset folder goes through `datasets.load_dataset`, like a Hub id; ClassLabel order wins."""
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["sadness", "joy", "love"])}
    )
    ds = datasets.Dataset.from_dict({"text": ["x y", "z w", "q r"], "label": [1, 0, 1]}, features=features)
    (tmp_path / "mydata").mkdir()
    ds.to_parquet(str(tmp_path / "mydata" / "train.parquet"))
    data = load_data(DataConfig(source=str(tmp_path / "mydata"), split="train"))
    assert data.format == "hub"
    assert data.class_names == ("sadness", "joy", "love")
    assert data.labels.tolist() == [1, 0, 1]


def test_shipped_emotion_split_loads():
    data = load_data(DataConfig())
    assert len(data) == 16000
    assert sorted(data.class_names) == sorted(["sadness", "joy", "love", "anger", "fear", "surprise"])
    assert np.bincount(data.labels).sum() == 16000


@pytest.mark.parametrize(
    "frame, expected",
    [
        (pd.DataFrame({"text": ["a", None], "label": ["x", "y"]}), "row 2: column 'text' is empty"),
        (pd.DataFrame({"text": ["a", "  "], "label": ["x", "y"]}), "row 2: column 'text' is empty"),
        (pd.DataFrame({"text": ["a", "b"], "label": ["x", None]}), "row 2: column 'label' has no label"),
        (pd.DataFrame({"text": ["a", "b"], "label": ["x", "x"]}), "single class"),
        (pd.DataFrame({"text": ["a", "b"], "foo": ["x", "y"], "bar": [1, 2]}), "no label column found"),
    ],
)
def test_validation_messages_name_the_row_and_value(tmp_path, frame, expected):
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(DataError, match=expected):
        load_data(DataConfig(source=str(path)))


def test_class_smaller_than_folds_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": list("abcdef"), "label": ["x"] * 5 + ["y"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="class 'y' has 1 example"):
        load_data(DataConfig(source=str(path)), min_per_class=5)


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"text,label\nok,a\ncaf\xe9,b\n")
    with pytest.raises(DataError, match=r"line 3: byte 0xe9 is not valid UTF-8"):
        load_data(DataConfig(source=str(path)))


# ------------------------------------------------------------------ issue 18: ids, lines, NUL, label spellings

import re  # noqa: E402

from auditor.data import from_frame, parse_ids, split_lines  # noqa: E402
from auditor.errors import DataWarning  # noqa: E402


@pytest.mark.parametrize("values, textual, expected", [
    (["0", "1", "01", "1.0", " 7", "1e1"], True, ["0", "1", "01", "1.0", " 7", "1e1"]),  # text as written
    (["-3", "0", "12"], True, [-3, 0, 12]),  # plain decimal integers in a CSV
    ([1, 2, 2**53 + 1], False, [1, 2, 2**53 + 1]),  # exact
    ([1.0, 2.0], False, ["1.0", "2.0"]),  # JSON floats are no integers
    (["a", 1], False, ["a", "1"]),
    ([float("inf"), float("-inf")], False, ["inf", "-inf"]),
])
def test_ids_are_text_unless_integers_in_their_source(values, textual, expected):
    assert parse_ids(values, "id", "f", textual).tolist() == expected


@pytest.mark.parametrize("values, textual, fragment", [
    ([1, "1"], False, "row 2: id '1' in column 'id' repeats (as '1', the same id as row 1's 1"),
    ([True, False, True], False, "row 3: id True in column 'id' repeats"),
    ([2**63, 1], False, "outside the 64-bit integer range"),
    (["9223372036854775808", "1"], True, "outside the 64-bit integer range"),
    (["a", None], True, "row 2: column 'id' has no id"),
])
def test_bad_ids_are_one_line_errors(values, textual, fragment):
    with pytest.raises(DataError, match=re.escape(fragment)):
        parse_ids(values, "id", "f", textual)


def test_lines_are_cut_at_newlines_only():
    text = "a\u2028b;x\r\nc\u0085d\x0ce\rf;y\n\ng;z"
    assert split_lines(text) == ["a\u2028b;x\r\n", "c\u0085d\x0ce\rf;y\n", "\n", "g;z"]


def test_a_nul_byte_after_the_first_8_kb_is_refused(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"text,label\n" + b"a long text,x\n" * 1000 + b"nul\x00here,y\n")
    with pytest.raises(DataError, match="line 1002: holds a NUL byte"):
        load_data(DataConfig(source=str(path)))


@pytest.mark.parametrize("labels, message", [
    (["1", "01", "2", "2"], "labels '1', '01' are read as one class '1'"),
    ([" joy", "joy", "sad", "sad"], "labels ' joy', 'joy' are read as one class 'joy'"),
    (["Joy", "joy", "sad", "sad"], "classes 'Joy', 'joy' differ only in case or Unicode form"),
    (["caf\u00e9", "cafe\u0301", "x", "x"], "differ only in case or Unicode form"),
])
def test_label_spellings_are_decided_and_warned_about(labels, message):
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "label": labels}, dtype=object)
    with pytest.warns(DataWarning, match=re.escape(message)):
        from_frame(frame, DataConfig(source="f"), fmt="csv")


def test_an_input_format_is_one_registry_entry(tmp_path):
    """A format registered once (extension, reader, writer) is read by load_data and written back by apply."""
    from auditor.annotate.apply import CLEANED_EXTENSIONS, cleaned_copy
    from auditor.config import DataConfig
    from auditor.data import load_data
    from auditor.input_formats import FILE_EXTENSIONS, INPUT_FORMATS, InputFormat, register

    def read(path):
        return pd.read_csv(path, sep="|", dtype=object, keep_default_na=False)

    def rewrite(data, edit):
        frame = data.frame.copy()
        for position, cells in edit.relabel.items():
            for column, value in cells.items():
                frame.loc[position, column] = value
        frame = frame.drop(index=sorted(edit.deleted))
        return lambda handle: handle.write(frame.to_csv(sep="|", index=False).encode("utf-8"))

    register(InputFormat("psv", (".psv",), read, rewrite, "psv", textual=True))
    try:
        path = tmp_path / "d.psv"
        path.write_text("text|label\nhappy day|joy\nawful news|sad\ngreat fun|joy\nso gloomy|sad\n", encoding="utf-8")
        data = load_data(DataConfig(source=str(path)))
        assert (data.format, data.texts[1], CLEANED_EXTENSIONS["psv"]) == ("psv", "awful news", "psv")
        cleaned = cleaned_copy(data, relabel={0: "sad"}, deleted=[1])
        assert cleaned == b"text|label\nhappy day|sad\ngreat fun|joy\nso gloomy|sad\n"
    finally:
        INPUT_FORMATS.pop("psv"), FILE_EXTENSIONS.pop(".psv"), CLEANED_EXTENSIONS.pop("psv")
