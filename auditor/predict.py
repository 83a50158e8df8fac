"""Class probabilities for new texts from a saved model: the book's check on a custom tweet.

A multi-label model (config.json `problem_type: multi_label_classification`, as `run --save-model` saves for
label sets) gives every label's sigmoid probability; its predicted set is the labels at `THRESHOLD` or
more, possibly none: the sigmoid outputs were trained one label at a time against 0/1 targets, so 0.5 is
where each label's own odds turn, whatever the others do.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .device import device
from .errors import OptionError, load_error
from .safeio import safe_write

__all__ = ["resolve_model_dir", "predict", "predict_texts", "Predictions", "THRESHOLD", "format_predictions",
           "plot_predictions", "check_plot_path", "check_output_path", "write_predictions"]

THRESHOLD = 0.5
OUTPUT_SUFFIXES = (".csv", ".tsv", ".jsonl")


@dataclasses.dataclass(frozen=True)
class Predictions:
    """Per text, {label: probability} in the model's label order; whether the head is multi-label, and the
    separator its training data joined label sets with (config.json `auditor_label_separator`, default ',')."""

    texts: list
    probabilities: list
    multi_label: bool = False
    separator: str = ","

    def predicted(self) -> list[list[str]]:
        """The predicted labels per text: the set at `THRESHOLD` (multi-label), else the most probable class."""
        if self.multi_label:
            return [[name for name, p in probs.items() if p >= THRESHOLD] for probs in self.probabilities]
        return [[max(probs, key=probs.get)] for probs in self.probabilities]

    def frame(self, lists: bool = False):
        """text, predicted_labels (multi-label: a list, or joined by the separator) or predicted_label, and
        prob_<label> per label."""
        import pandas as pd

        predicted = self.predicted()
        if self.multi_label:
            column = {"predicted_labels": predicted if lists else [self.separator.join(p) for p in predicted]}
        else:
            column = {"predicted_label": [p[0] for p in predicted]}
        probs = pd.DataFrame(self.probabilities).add_prefix("prob_")
        return pd.concat([pd.DataFrame({"text": [str(t) for t in self.texts], **column}), probs], axis=1)


def resolve_model_dir(model: str) -> str:
    """A run folder (its `model/` subfolder), a saved model folder, or a Hub id."""
    path = Path(model)
    if (path / "model" / "config.json").is_file():
        return str(path / "model")
    if (path / "config.json").is_file():
        return str(path)
    if path.exists():
        raise OptionError(f"--model {model}: no saved model in this folder (a run writes RUN_DIR/model "
                          "when given --save-model).")
    return model


def predict_texts(texts, model: str, max_length: int | None = None) -> list[dict[str, float]]:
    """For each text, {class name: probability} in the model's class order (`predict`'s probabilities)."""
    return predict(texts, model, max_length).probabilities


def predict(texts, model: str, max_length: int | None = None) -> Predictions:
    """For each text, {class name: probability} in the model's class order, and how to read them.

    Texts are cut as the saved model's were in training (its max_length and truncation, or `max_length`
    if given); the pipeline then runs the model and turns logits into probabilities (softmax, or sigmoid
    for a multi-label head).
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise OptionError("predict needs at least one text.")
    source = resolve_model_dir(model)
    import transformers
    from transformers import pipeline

    transformers.utils.logging.disable_progress_bar()
    try:
        classifier = pipeline("text-classification", model=source, top_k=None, device=device())
    except Exception as exc:  # offline Hub, not a classifier, missing files
        raise load_error(f"--model {model}: cannot load it as a text classifier", exc) from None
    order = [classifier.model.config.id2label[i] for i in range(classifier.model.config.num_labels)]
    outputs = [output for batch in _batches(_encode(classifier, texts, max_length), PREDICT_BATCH)
               for output in _classify(classifier, batch)]
    probabilities = [{name: float(next(o["score"] for o in output if o["label"] == name)) for name in order}
                     for output in outputs]
    config = classifier.model.config
    return Predictions(texts, probabilities, config.problem_type == "multi_label_classification",
                       getattr(config, "auditor_label_separator", None) or ",")


PREDICT_BATCH = 32


def _encode(classifier, texts, max_length):
    from .backends.finetune import input_settings, truncate

    saved_length, truncation = input_settings(classifier.model.config, classifier.tokenizer)
    return truncate(classifier.tokenizer, texts, max_length or saved_length, truncation)


def _batches(encoded: dict, size: int):
    n = len(encoded["input_ids"])
    for start in range(0, n, size):
        yield {key: rows[start:start + size] for key, rows in encoded.items()}


def _classify(classifier, batch: dict) -> list[list[dict]]:
    """The pipeline's forward pass (device placement, no gradients) and its per-text post-processing."""
    padded = classifier.tokenizer.pad(batch, return_tensors="pt")
    logits = classifier.forward(dict(padded))["logits"]
    return [classifier.postprocess({"logits": logits[i:i + 1]}, top_k=None) for i in range(len(logits))]


def format_predictions(texts, predictions, sets=None) -> str:
    """Per text its best class and probability, or with `sets` (multi-label) its predicted set; then every
    class's probability."""
    lines = []
    for i, (text, probs) in enumerate(zip(texts, predictions)):
        best = max(probs, key=probs.get)
        shown = f"{best} ({probs[best]:.3f})" if sets is None else \
            "{" + ", ".join(sets[i]) + "}" + f" (labels at {THRESHOLD} or more)"
        lines.append(f"{' '.join(str(text).split())[:100]!r} -> {shown}")
        width = max(len(n) for n in probs)
        lines.extend(f"  {name:<{width}}  {p:.3f}" for name, p in probs.items())
    return "\n".join(lines)


def check_output_path(path, overwrite: bool = False) -> Path:
    """Fail before any model work on an --out file of an unknown kind or one that cannot be written."""
    from .safeio import check_target

    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OptionError(f"--out {path}: unknown file type {path.suffix!r}; expected one of "
                          f"{', '.join(OUTPUT_SUFFIXES)}.")
    return check_target(path, overwrite=overwrite)


def write_predictions(predictions: Predictions, path, overwrite: bool = False) -> Path:
    """One row per text (`Predictions.frame`), with label sets as multi-label input keeps them: a JSON list
    per line in .jsonl, joined by the model's separator in .csv/.tsv."""
    import json

    from .safeio import write_csv

    path = check_output_path(path, overwrite)
    if path.suffix.lower() == ".jsonl":
        records = predictions.frame(lists=True).to_dict(orient="records")
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        write = lambda handle: handle.write(text.encode("utf-8"))  # noqa: E731
    else:
        frame, sep = predictions.frame(), "\t" if path.suffix.lower() == ".tsv" else ","
        write = lambda handle: write_csv(frame, handle, sep=sep)  # noqa: E731
    safe_write({path: write}, overwrite=overwrite)
    return path


def check_plot_path(path) -> Path:
    """Fail before any model work on a plot file that cannot be written."""
    from matplotlib.figure import Figure

    path = Path(path)
    supported = Figure().canvas.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in supported:
        raise OptionError(f"--plot {path}: unknown image type {path.suffix!r}; expected one of "
                          f"{', '.join('.' + s for s in sorted(supported))}.")
    if not path.parent.is_dir():
        raise OptionError(f"--plot {path}: folder {path.parent} does not exist.")
    return path


def plot_predictions(texts, predictions, path) -> Path:
    """One horizontal bar chart per text, stacked in one figure, saved to `path` (format from its suffix)."""
    from matplotlib.figure import Figure

    from .plots import plot_class_probabilities

    path = check_plot_path(path)
    suffix = path.suffix.lower().lstrip(".")
    height = max(2.0, 0.35 * len(predictions[0]) + 1.1)
    fig = Figure(figsize=(7.0, height * len(texts)), layout="constrained")
    axes = fig.subplots(len(texts), 1, squeeze=False)[:, 0]
    for ax, text, probs in zip(axes, texts, predictions):
        plot_class_probabilities(probs, ax, title=text)
    # The plot is the user's chosen output name: replaced when it exists, as before.
    safe_write({path: lambda handle: fig.savefig(handle, format=suffix, dpi=100)}, overwrite=True, option="--plot")
    return path
