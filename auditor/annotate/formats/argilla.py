"""Argilla: records as the Argilla SDK writes and reads them (`Record.to_dict`, `Dataset.records.to_json`).

Each record has the text, the given label and the evidence (why it was flagged, similar texts) as fields, the suggested label as a suggestion on the
`label` question (its probability as score, the run as agent), and our id and the scores as metadata.
Beside the records goes a script that creates the dataset (settings: a `label` question over the classes
and DELETE, an optional `note`) and logs them; `dataset.records.to_json(path)` gives the file `apply`
reads back. The record id is our id; `metadata.auditor_id` keeps it as well.

A multi-label run (`run_info["separator"]`) gets a `MultiLabelQuestion` over the same labels, the given
set as a field and the suggested set as the suggestion; an answer is every chosen label (DELETE among
them deletes the example), and annotators must agree on the whole set.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...safeio import plain
from .label_studio import DELETE, EVIDENCE, ID_KEY

NAME = "argilla"
DEFAULT_NAME = "argilla_records.json"
QUESTION, NOTE = "label", "note"
_FIELDS = ("text", "given_label")
NEXT_STEPS = ("ARGILLA_API_URL=... ARGILLA_API_KEY=... python {config} creates the dataset and logs {data}; "
              "then dataset.records.to_json('answers.json') and run: python -m auditor apply {run_dir} answers.json")


def write(suspects, path: Path, run_info: dict) -> list[Path]:
    evidence = [c for c in EVIDENCE if c in suspects.columns]
    separator = run_info.get("separator")
    records = [_record(row, run_info["name"], evidence, separator) for row in suspects.to_dict("records")]
    Path(path).write_text(json.dumps(records, ensure_ascii=False, indent=1, allow_nan=False), encoding="utf-8")
    script = Path(path).with_name(Path(path).name.removesuffix(".json") + "_dataset.py")
    script.write_text(dataset_script(run_info, Path(path).name, _metadata_kinds(suspects), evidence),
                      encoding="utf-8")
    return [Path(path), script]


def _fields(separator: str | None) -> tuple[str, str]:
    return ("text", "given_labels") if separator is not None else _FIELDS


def _record(row: dict, agent: str, evidence, separator: str | None = None) -> dict:
    shown = (*_fields(separator), *evidence)
    metadata = {k: plain(v, finite=True) for k, v in row.items()
                if k not in (*shown, "id", "corrected_label", "corrected_labels", "note")}
    metadata[ID_KEY] = str(row["id"])
    suggestions = {}
    if separator is not None:  # a set: no one probability belongs to it
        chosen = [p.strip() for p in str(row.get("suggested_labels") or "").split(separator) if p.strip()]
        if chosen:
            suggestions[QUESTION] = {"value": chosen, "agent": agent}
    elif row.get("suggested_label") not in (None, ""):
        suggestions[QUESTION] = {"value": str(row["suggested_label"]),
                                 "score": plain(row.get("suggested_label_probability"), finite=True), "agent": agent}
    fields = {k: str(row[k]) for k in _fields(separator)}
    fields.update({k: str(row[k]) for k in evidence if row[k] not in (None, "")})  # optional fields
    return {"id": str(row["id"]), "fields": fields,
            "metadata": {k: v for k, v in metadata.items() if v not in (None, "")},
            "suggestions": suggestions, "responses": {}, "vectors": {}, "status": "pending", "_server_id": None}


def _metadata_kinds(suspects) -> dict[str, str]:
    kinds = {ID_KEY: "Terms"}
    for column in suspects.columns:
        if column in (*_FIELDS, "given_labels", *EVIDENCE, "id", "corrected_label", "corrected_labels", "note"):
            continue
        dtype = suspects[column].dtype
        kinds[column] = "Float" if dtype.kind == "f" else "Integer" if dtype.kind in "iu" else "Terms"
    return kinds


def dataset_script(run_info: dict, records_name: str, metadata: dict[str, str], evidence=()) -> str:
    """Python that creates the Argilla dataset and logs the records (every value written with repr)."""
    labels = [*run_info["classes"], DELETE]
    multi = run_info.get("separator") is not None
    given = _fields(run_info.get("separator"))[1]
    question = (f"rg.MultiLabelQuestion(name={QUESTION!r}, labels={labels!r},\n                              "
                f"description=\"The right labels (the given set keeps it; {DELETE} deletes the example)\")"
                if multi else
                f"rg.LabelQuestion(name={QUESTION!r}, labels={labels!r},\n                         "
                f"description=\"The right label (the given one keeps it; {DELETE} deletes the example)\")")
    fields = ", ".join(['rg.TextField(name="text")', f'rg.TextField(name="{given}")',
                        *(f"rg.TextField(name={c!r}, title={EVIDENCE[c]!r}, required=False)" for c in evidence)])
    properties = ",\n        ".join(f"rg.{kind}MetadataProperty(name={name!r})" for name, kind in metadata.items())
    return f'''"""Create the Argilla dataset for auditor run {run_info["name"]!r} and log its suspects.

    pip install argilla; ARGILLA_API_URL=... ARGILLA_API_KEY=... python {records_name.removesuffix(".json")}_dataset.py
Afterwards: dataset.records.to_json("answers.json"), then `auditor apply RUN_DIR answers.json`.
"""
import json
from pathlib import Path

import argilla as rg

client = rg.Argilla()
settings = rg.Settings(
    fields=[{fields}],
    questions=[
        {question},
        rg.TextQuestion(name={NOTE!r}, required=False),
    ],
    metadata=[
        {properties},
    ],
    allow_extra_metadata=True,
)
dataset = rg.Dataset(name={("auditor-" + run_info["name"])[:200]!r}, settings=settings, client=client).create()
records = json.loads((Path(__file__).parent / {records_name!r}).read_text(encoding="utf-8"))
dataset.records.log([rg.Record.from_dict(record) for record in records])
print(f"Logged {{len(records)}} records to {{dataset.name}}")
'''


def read(path: Path, separator: str | None = None):
    """Records as `Dataset.records.to_json` writes them; several annotators must agree on a label
    (on a set, with a `separator`: a multi-label run's answers joined by it)."""
    from ...errors import DataError
    from . import answers_frame, load_json

    document = load_json(Path(path), "Argilla")
    if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
        raise DataError(f"{path}: not Argilla records (expected the list that dataset.records.to_json writes).")
    rows = []
    for number, record in enumerate(document, start=1):
        labels = _values(record, QUESTION, separator)
        if len(set(labels)) > 1:
            raise DataError(f"{path}: record {number}: annotators disagree ({', '.join(map(repr, labels))}); "
                            "settle it in Argilla and export again; nothing was written.")
        metadata = record.get("metadata") or {}
        rows.append((metadata.get(ID_KEY, record.get("id") or ""), labels[0] if labels else "",
                     " | ".join(dict.fromkeys(_values(record, NOTE)))))
    return answers_frame(rows)


def _values(record: dict, question: str, separator: str | None = None) -> list[str]:
    responses = (record.get("responses") or {}).get(question) or []
    values = [r["value"] for r in responses if isinstance(r, dict) and r.get("value") not in (None, "", [])]
    if separator is None:
        return [str(v) for v in values]
    sets = [[str(x) for x in v] if isinstance(v, list) else [str(v)] for v in values]
    return [DELETE if DELETE in chosen else separator.join(sorted(chosen)) for chosen in sets]


def matches(document) -> bool:
    return (isinstance(document, list) and bool(document) and isinstance(document[0], dict)
            and "fields" in document[0] and ("responses" in document[0] or "suggestions" in document[0]))
