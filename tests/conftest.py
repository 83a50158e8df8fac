"""Shared fixtures: small real data, an easy synthetic dataset with planted flips, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
EMOTION_TRAIN = ROOT / "examples" / "emotion_train.txt"


def _goemotions() -> Path | None:
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        folder = base / "data" / "goemotions"
        if (folder / "train.tsv").is_file():
            return folder
    return None


GOEMOTIONS = _goemotions()  # the shared GoEmotions folder, or None where ../shared lacks it

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def run_cli(*args, cwd=None, timeout=900, env=None) -> subprocess.CompletedProcess:
    """Run `python -m auditor ARGS` in a subprocess with this checkout first on the path."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "auditor", *map(str, args)],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def emotion_slice(tmp_path_factory) -> Path:
    """The first 600 rows of the shipped emotion training split, as `text;label` lines."""
    path = tmp_path_factory.mktemp("data") / "emotion600.txt"
    lines = EMOTION_TRAIN.read_text(encoding="utf-8").splitlines()[:600]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def easy_dataset(n_per_class: int = 60, seed: int = 0):
    """Three classes whose texts name their class: any sensible model learns them perfectly."""
    rng = np.random.default_rng(seed)
    vocab = {
        "sport": ["football", "goal", "match", "team", "stadium", "coach", "league"],
        "food": ["pizza", "pasta", "recipe", "oven", "dinner", "bread", "cheese"],
        "tech": ["laptop", "software", "python", "server", "keyboard", "compiler", "cloud"],
    }
    filler = ["the", "a", "today", "really", "my", "new", "this", "great", "about", "with"]
    rows = []
    for label, words in vocab.items():
        for _ in range(n_per_class):
            picked = list(rng.choice(words, 3, replace=False)) + list(rng.choice(filler, 3))
            rng.shuffle(picked)
            rows.append({"text": " ".join(picked), "label": label})
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return frame


def plant_flips(frame: pd.DataFrame, n_flips: int, seed: int = 0):
    """Flip `n_flips` labels to another class (`auditor.benchmark.noise.flip_labels`, uniform);
    returns (noisy frame, flipped row positions)."""
    from auditor.benchmark.noise import flip_labels

    classes = sorted(frame["label"].unique())
    codes = frame["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    noisy_codes, flipped = flip_labels(codes, n_flips / len(frame), seed, len(classes))
    noisy = frame.copy()
    noisy["label"] = [classes[i] for i in noisy_codes]
    return noisy, np.flatnonzero(flipped)


@pytest.fixture()
def easy_csv(tmp_path) -> tuple[Path, np.ndarray]:
    """An easy 180-row CSV with 9 planted flips; returns (path, flipped row positions)."""
    noisy, flipped = plant_flips(easy_dataset(), 9)
    path = tmp_path / "easy.csv"
    noisy.to_csv(path, index=False)
    return path, flipped
