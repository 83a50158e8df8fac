"""Label Studio: tasks JSON with the suggested label as a pre-annotation, the labelling config beside it.

Our id travels as `data.auditor_id`: Label Studio numbers tasks itself, and some of its exports overwrite
`data.id`. The config's choices are the classes plus DELETE; picking the given label keeps it. `read`
takes Label Studio's JSON export (Export → JSON; each task with its `annotations`) and its JSON-MIN
export (one flat object per annotation).

A multi-label run (`run_info["separator"]`) gets a multiple-choice config over the same choices, the
suggested set as the pre-annotation; the answer is every chosen label (DELETE among them deletes the example).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ...safeio import plain

NAME = "label-studio"
DEFAULT_NAME = "label_studio_tasks.json"
ID_KEY = "auditor_id"
NEXT_STEPS = ("In Label Studio: create a project, paste {config} under Settings > Labeling Interface, import "
              "{data}; then Export > JSON and run: python -m auditor apply {run_dir} EXPORT.json")
FROM_NAME, TO_NAME, NOTE_NAME = "label", "text", "note"
DELETE = "DELETE"
# suspects.csv's columns that tell the annotator why a row is suspect, shown under the text when present.
EVIDENCE = {"reasons": "Why it was flagged", "what_to_check": "What to check",
            "neighbours": "Most similar texts and their labels"}


def write(suspects, path: Path, run_info: dict) -> list[Path]:
    separator = run_info.get("separator")
    tasks = [_task(row, run_info["name"], separator) for row in suspects.to_dict("records")]
    Path(path).write_text(json.dumps(tasks, ensure_ascii=False, indent=1, allow_nan=False), encoding="utf-8")
    config = Path(path).with_name(config_name(path))
    evidence = [c for c in EVIDENCE if c in suspects.columns]
    config.write_text(labeling_config(run_info["classes"], evidence, multiple=separator is not None),
                      encoding="utf-8")
    return [Path(path), config]


def config_name(tasks_name) -> str:
    """label_studio_tasks.json → label_studio_config.xml; any other name → NAME.config.xml."""
    stem = Path(tasks_name).name.removesuffix(".json")
    return stem.removesuffix("_tasks") + "_config.xml" if stem.endswith("_tasks") else stem + ".config.xml"


def _task(row: dict, model_version: str, separator: str | None = None) -> dict:
    data = {key: plain(value, finite=True) for key, value in row.items()
            if key not in ("id", "corrected_label", "corrected_labels", "note")}
    data[ID_KEY] = str(row["id"])
    task = {"data": data}
    if separator is None:
        suggested, score = row.get("suggested_label"), plain(row.get("suggested_label_probability"), finite=True)
        choices = [str(suggested)] if suggested is not None and suggested != "" else []
    else:  # a set: no one probability belongs to it, so the prediction has no score
        choices = [p.strip() for p in str(row.get("suggested_labels") or "").split(separator) if p.strip()]
        score = None
    if choices:
        prediction = {"model_version": model_version, "score": score,
                      "result": [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                                  "value": {"choices": choices}}]}
        task["predictions"] = [prediction if separator is None else
                               {k: v for k, v in prediction.items() if k != "score"}]
    return task


def labeling_config(classes, evidence=("reasons",), multiple: bool = False) -> str:
    """The labelling interface: the text, what the audit said, one choice per class, DELETE, a note;
    `multiple`: label sets (a multi-label run), any number of choices."""
    choices = "\n".join(f"    <Choice value={quoteattr(str(c))}/>" for c in [*classes, DELETE])
    shown = "".join(f"""
    <Header value={quoteattr(EVIDENCE[c])} size="6"/>
    <Text name="{c}" value="${c}"/>""" for c in evidence)
    label, s, kind, keeps = ("labels", "s", "multiple", "the given set") if multiple else \
        ("label", "", "single-radio", "the given one")
    return f"""<View>
  <Text name="{TO_NAME}" value="$text"/>
  <View style="margin-top: 8px">
    <Header value="Given {label}" size="6"/>
    <Text name="given_{label}" value="$given_{label}"/>
    <Header value="Suggested (the pre-selected choice{s})" size="6"/>
    <Text name="suggested_{label}" value="$suggested_{label}"/>{shown}
  </View>
  <Header value="The right {label} ({keeps} keeps it; {DELETE} deletes the example)" size="5"/>
  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="{kind}" showInline="true">
{choices}
  </Choices>
  <TextArea name="{NOTE_NAME}" toName="{TO_NAME}" placeholder="note (optional)" rows="2" maxSubmissions="1" editable="true"/>
</View>
"""


def read(path: Path, separator: str | None = None):
    from . import answers_frame, load_json

    document = load_json(Path(path), "Label Studio")
    if not isinstance(document, list):
        _not_export(path, "the file is not a list of tasks")
    rows = []
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            _not_export(path, f"item {number} is not a task object")
        rows.append(_answer(item, separator) if isinstance(item.get("data"), dict) else _min_answer(item, separator))
    return answers_frame(rows)


def _chosen(choices, separator: str | None) -> str:
    """One choice (single-label), or the set joined by `separator` (DELETE among them deletes the example)."""
    choices = [str(c) for c in choices]
    if separator is None or not choices:
        return choices[0] if choices else ""
    return DELETE if DELETE in choices else separator.join(choices)


def _not_export(path, why: str):
    from ...errors import DataError

    raise DataError(f"{path}: not a Label Studio JSON export ({why}); export the project as JSON or JSON-MIN.")


def _answer(task: dict, separator: str | None = None) -> tuple:
    """The latest annotation that was not skipped; no annotation keeps the label."""
    done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    done.sort(key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0))
    label, note = "", ""
    if done:
        for item in done[-1].get("result") or []:
            value = item.get("value") or {}
            if item.get("from_name") == FROM_NAME and value.get("choices"):
                label = _chosen(value["choices"], separator)
            elif item.get("from_name") == NOTE_NAME and value.get("text"):
                note = " ".join(str(t) for t in value["text"])
    return task["data"].get(ID_KEY, ""), label, note


def _min_answer(item: dict, separator: str | None = None) -> tuple:
    label = item.get(FROM_NAME) or ""
    if isinstance(label, dict):  # JSON-MIN writes several choices as {"choices": [...]}
        label = label.get("choices") or []
    if isinstance(label, list):
        label = _chosen(label, separator)
    note = item.get(NOTE_NAME) or ""
    return item.get(ID_KEY, ""), label if isinstance(label, str) else "", note if isinstance(note, str) else ""


def matches(document) -> bool:
    if not isinstance(document, list) or not document or not isinstance(document[0], dict):
        return False
    first = document[0]
    return ID_KEY in (first.get("data") if isinstance(first.get("data"), dict) else first)
