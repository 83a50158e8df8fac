"""benchmarks/gpu_speed.py runs end to end on a CPU slice and reports every stage of both pipelines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT


@pytest.mark.slow
@pytest.mark.ci_slow
def test_gpu_speed_benchmark_runs_on_a_cpu_slice(tmp_path):
    """120 rows, 1 epoch, 2 folds; the JSON file read while the run goes on must report each finished stage
    of the book's run and each finished fold of the audit (what a run cut off by the device's limit leaves)."""
    out = tmp_path / "speed.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, ROOT / "benchmarks" / "gpu_speed.py", "--device", "cpu", "--limit", "120",
             "--epochs", "1", "--folds", "2", "--json", out],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    seen = []  # each distinct content of the JSON file while the benchmark runs (it is replaced atomically)
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < 1800:
        if out.is_file() and (text := out.read_text()) != (seen[-1] if seen else None):
            seen.append(text)
        time.sleep(0.05)
    proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-3000:]
    partial = [json.loads(text) for text in seen if not json.loads(text)["complete"]]
    assert {"tokenise"} in [set(r["book"]["stages_s"]) for r in partial]  # mid-way through the book's run
    mid_audit = [r for r in partial if "auditor" in r]
    assert mid_audit and [f["fold"] for f in mid_audit[0]["auditor"]["finished_folds"]] == ["finetune-fold-0"]
    assert mid_audit[0]["book"]["validation_accuracy"] == json.loads(out.read_text())["book"]["validation_accuracy"]
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
    assert [(f["fold"], f["rows"]) for f in res["auditor"]["finished_folds"]] == [
        ("finetune-fold-0", 60), ("finetune-fold-1", 60)]


def _device_run(tmp_path, *args, fail=""):
    """benchmarks/gpu_device_run.sh as the device tool runs it: (exit status, stages.json printed at the end)."""
    env = dict(os.environ, OUT=str(tmp_path / "out"), HF_HUB_OFFLINE="1", GPU_RUN_FAIL_STAGE=fail)
    done = subprocess.run(["bash", ROOT / "benchmarks" / "gpu_device_run.sh", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    printed = done.stdout[done.stdout.rindex("\n{"):]  # stages.json, printed last
    assert json.loads(printed) == json.loads((tmp_path / "out" / "stages.json").read_text())
    return done.returncode, json.loads(printed)


def test_device_run_exits_non_zero_when_a_stage_failed(tmp_path):
    """The device tool reports only the call's exit status up front: a failed stage must show in it, with
    stages.json still printed (the stages are forced to fail at once, so this takes a second)."""
    rc, stages = _device_run(tmp_path, fail="install smoke")
    assert rc == 1
    assert stages["install"]["rc"] == stages["smoke"]["rc"] == 1 and stages["speed"] == {"skipped": True}
    rc, stages = _device_run(tmp_path, "--cpu", fail="smoke")
    assert rc == 1 and stages["smoke"]["rc"] == 1


@pytest.mark.slow
@pytest.mark.ci_slow
def test_device_run_smoke_checks_pass_on_the_cpu(tmp_path):
    """`gpu_device_run.sh --cpu`: every check of benchmarks/gpu_smoke.py passes here (one optimiser step of
    the package's fine-tune included), so the first GPU call does not spend its time on a fault a CPU shows."""
    rc, stages = _device_run(tmp_path, "--cpu")
    smoke = json.loads((tmp_path / "out" / "smoke.json").read_text())
    assert rc == 0 and stages["smoke"]["rc"] == 0, smoke
    assert set(smoke) == {"versions", "requires", "map", "train"}
    assert all(check["ok"] for check in smoke.values()), smoke
    assert smoke["versions"]["cuda_available"] is False and smoke["train"]["steps"] == 1
    assert smoke["train"]["device"] == "cpu" and not (smoke["train"]["bf16"] or smoke["train"]["fp16"])
    # --torch-compile asks only whether compiling works on the GPU: on a CPU it says so and passes at once.
    done = subprocess.run([sys.executable, ROOT / "benchmarks" / "gpu_smoke.py", "--cpu", "--torch-compile",
                           "--json", tmp_path / "compile.json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1"))
    assert done.returncode == 0, done.stderr[-3000:]
    checks = json.loads((tmp_path / "compile.json").read_text())
    assert set(checks) == {"versions", "compile"} and checks["compile"]["skipped"] == "no CUDA device"
