"""benchmarks/gpu_speed.py runs end to end on a CPU slice and reports every stage of both pipelines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_gpu_speed_benchmark_runs_on_a_cpu_slice(tmp_path):
    out = tmp_path / "speed.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, ROOT / "benchmarks" / "gpu_speed.py", "--device", "cpu", "--limit", "120",
         "--epochs", "1", "--folds", "2", "--json", out],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["rows"] == {"train": 120, "validation": 60}
    stages = ("tokenise", "train", "predict", "score", "report")
    assert set(res["book"]["stages_s"]) == set(res["auditor"]["stages_s"]) == set(stages)
    assert res["book"]["train_steps"] == 2  # 120 rows, batch 64, 1 epoch
    assert res["auditor"]["settings"]["batch_size"] == 32  # the package's CPU default
    assert res["auditor"]["train_samples"] == 120  # 2 folds x 60 training rows x 1 epoch
    assert res["ratio_auditor_to_book_finetune"] == pytest.approx(
        res["auditor"]["total_s"] / res["book"]["finetune_s"], rel=1e-2)
    for pipeline in ("book", "auditor"):
        assert res[pipeline]["peak_gpu_memory_mb"] is None
        assert res[pipeline]["train_tokens_per_s"] > 0
    assert 0 <= res["book"]["validation_accuracy"] <= 1 and 0 <= res["auditor"]["out_of_sample_accuracy"] <= 1
