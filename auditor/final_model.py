"""`--save-model` and `--push-to-hub`: after the k-fold audit, one model trained on all rows.

The k-fold models each miss a fold, so the model people keep is trained once more on every row with the
same settings. It is saved as RUN_DIR/model (model, tokenizer, id2label, a model card) after the run
folder is complete, so a failure here never costs the audit; pushing to the Hub comes last.

Only the `finetune` backend produces a transformers model: `--save-model` with any other method (or
with `auto` where it does not choose finetune, i.e. on CPU) is refused before any work starts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .errors import HubError, OptionError, first_line
from .rundir import json_text, read_json
from .safeio import folder_into_place, safe_write

__all__ = ["check_model_options", "save_final_model", "model_card", "push_to_hub", "MODEL_DIR"]

MODEL_DIR = "model"


def check_model_options(config, methods) -> None:
    """Refuse impossible --save-model/--push-to-hub combinations before training.

    `methods`: the run's resolved backends (its `backends.Plan`'s; None without a plan: --pred-probs)."""
    if config.push_to_hub and not config.save_model:
        raise OptionError("--push-to-hub needs --save-model (it uploads RUN_DIR/model).")
    if config.push_to_hub:
        _check_repo_id(config.push_to_hub)
    if not config.save_model:
        return
    from .distributed import world_size

    if world_size() > 1:
        raise OptionError("--save-model runs in a single process; rerun without torchrun/accelerate launch.")
    if config.pred_probs is not None or config.train_data is not None:
        raise OptionError("--save-model works with k-fold runs only, not with --pred-probs or --train-data.")
    if "finetune" not in methods:
        raise OptionError(
            f"--save-model saves a fine-tuned transformer, but method {config.method!r} resolves to "
            f"{'+'.join(methods)!r} here; use --method finetune (or finetune+tfidf)."
        )


def _check_repo_id(repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise OptionError(f"--push-to-hub {repo_id!r}: not a valid repository id; expected 'user/name'.") from None
    if "/" not in repo_id:
        raise OptionError(f"--push-to-hub {repo_id!r}: expected 'user/name' (or 'org/name').")


def save_final_model(data, config, result, out, progress=None, backend_class=None, model_settings=None) -> Path:
    """Train on all rows of `data`, save into OUT/model (whole or not at all), note it in run.json.

    `backend_class`: the k-fold's fine-tune backend (default `FinetuneBackend`; multi-label passes its own,
    whose head is multi-label); `model_settings`: more keys for the saved config.json."""
    out = Path(out)
    target = out / MODEL_DIR
    with folder_into_place(target) as tmp:
        if progress:
            progress(f"finetune: training the final model on all {len(data):,} rows")
        trainer = _train_on_all(data, config, progress, backend_class)
        trainer.model.config.update(model_settings or {})
        trainer.save_model(str(tmp))  # its config.json records max_length and truncation (_train_on_all)
        (tmp / "README.md").write_text(model_card(result, config), encoding="utf-8")
    _note_in_run_json(out, {"saved_model": MODEL_DIR})
    return target


def _train_on_all(data, config, progress, backend_class=None):
    """The k-fold's own training path (device defaults, tokenisation, sampler, collator) on every row."""
    import dataclasses

    import numpy as np

    from .backends.finetune import FinetuneBackend, save_input_settings

    cfg = dataclasses.replace(config.train, dynamics_per_epoch=0)  # no fold to record dynamics for
    backend = (backend_class or FinetuneBackend)(len(data.class_names), config.seed, cfg, progress,
                                                 class_names=data.class_names)
    backend.prepare(data.texts)
    trainer = backend.train(np.arange(len(data)), np.asarray(data.labels))
    save_input_settings(trainer.model.config, backend.cfg)  # max_length as chosen from the data
    return trainer


def _note_in_run_json(out: Path, facts: dict) -> None:
    run = read_json(out / "run.json")
    run.update(facts)
    text = json_text(run)
    safe_write({out / "run.json": lambda handle: handle.write(text.encode("utf-8"))}, own=[out / "run.json"], option="")


def model_card(result, config) -> str:
    """README.md for the saved model: what it was trained on and what the audit measured."""
    from huggingface_hub import ModelCardData

    from .backends.finetune import resolve_train_config

    train = resolve_train_config(config.train)
    m = result.metrics
    chosen = m.get("backend_details", {}).get("finetune", {}).get("max_length")
    train = dataclasses.replace(train, max_length=train.max_length or chosen)
    cut = "its first tokens" if train.truncation == "head" else "its first quarter and last three quarters of tokens"
    data = result.run.get("data", {})
    source = data.get("source", "?")
    # A local path may say more about the user's machine than they want to publish.
    shown_source = source if data.get("format") == "hub" else Path(source).name
    base = _base_model_name(config.train.model)
    multi = m.get("task") == "multi-label"
    text = _MULTI_LABEL_TEXT if multi else _SINGLE_LABEL_TEXT
    card = ModelCardData(
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["text-classification", "label-audit", "auditor"] + (["multi-label"] if multi else []),
        base_model=base if not Path(base).exists() else None,
    )
    per_class = "\n".join(
        f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} | "
        f"{v.get('label_issues') if v.get('label_issues') is not None else '–'} |"
        for name, v in m.get("per_class", {}).items()
    )
    return f"""---
{card.to_yaml()}
---

# {text['title']} trained by `auditor`

Fine-tuned from `{Path(base).name if Path(base).exists() else base}` on all {m['n']:,} examples of
`{shown_source}` ({len(m['classes'])} {text['classes']}: {', '.join(m['classes'])}), {train.epochs:g} epoch(s),
learning rate {train.learning_rate:g}, batch size {train.batch_size}, max length
{train.max_length}, truncation {train.truncation}, seed {config.seed}. A text longer than {train.max_length} tokens
kept {cut}; `python -m auditor predict` cuts new texts the same way (config.json: `auditor_max_length`,
`auditor_truncation`), while a plain `pipeline` keeps the first tokens, up to the
tokenizer's limit.{text['head']}

## Audit of the training labels

Out-of-sample figures from the {m.get('folds')}-fold audit that preceded this training run
(method `{m.get('method')}`): every example was predicted by a model that did not see it.

{text['figures'].format(**m)}
- suspected label issues: {m.get('label_issues', '–')} ({100 * m.get('label_issue_share', 0):.1f}% of the examples)

| {text['class']} | precision | recall | F1 | support | suspected issues |
|---|---|---|---|---|---|
{per_class}

This model was trained on the labels as given, suspected issues included.

## Use

```python
from transformers import pipeline
classifier = pipeline("text-classification", model="PATH_OR_REPO", top_k=None)
classifier("I saw a movie today and it was really good.")
```
{text['use']}"""


_SINGLE_LABEL_TEXT = {
    "title": "Text classifier", "classes": "classes", "class": "class", "head": "", "use": "",
    "figures": "- accuracy: {accuracy:.4f}\n- weighted F1: {f1_weighted:.4f}",
}
_MULTI_LABEL_TEXT = {
    "title": "Multi-label text classifier", "classes": "labels", "class": "label",
    "head": "\n\nMulti-label: config.json's `problem_type` is `multi_label_classification` (one sigmoid per "
            "label, trained on\nbinary cross-entropy), so an example gets every label whose probability reaches "
            "0.5, possibly none.",
    "figures": "- exact set match: {accuracy:.4f}\n- micro F1: {f1_micro:.4f}\n- macro F1: {f1_macro:.4f}\n"
               "- weighted F1: {f1_weighted:.4f}",
    "use": "\nThe pipeline applies the sigmoid for this head: every label's probability, independently. "
           "`python -m auditor predict`\nprints them with the predicted set (the labels at 0.5 or more).\n",
}


def _base_model_name(model: str) -> str:
    """The Hub id of the packaged MiniLM instead of its install path; other local paths stay paths."""
    from .config import default_model

    return "sentence-transformers/all-MiniLM-L6-v2" if model == default_model() else model


def push_to_hub(run_dir, repo_id: str) -> str:
    """Create `repo_id` (if needed) and upload RUN_DIR/model; one clear HubError on any failure."""
    from huggingface_hub import HfApi, constants, get_token

    folder = Path(run_dir) / MODEL_DIR
    where = f"--push-to-hub {repo_id}: cannot push"
    after = f"; the run folder {run_dir} is complete (the model is in {folder})."
    if not (folder / "config.json").is_file():
        raise OptionError(f"{where}: {folder} holds no saved model{after}")
    if constants.HF_HUB_OFFLINE:
        raise HubError(f"{where}: HF_HUB_OFFLINE is set, so the Hub cannot be reached{after}")
    token = get_token()
    if not token:
        raise HubError(f"{where}: no Hugging Face token (set HF_TOKEN or run 'hf auth login'){after}")
    try:
        api = HfApi(token=token)
        api.create_repo(repo_id, exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id,
                                   commit_message="Upload model audited and trained by auditor")
    except Exception as exc:  # network down, bad token, no rights: the Hub client raises many types
        detail = first_line(exc)
        raise HubError(f"{where}: {detail}{after}") from None
    return getattr(commit, "commit_url", None) or f"https://huggingface.co/{repo_id}"
