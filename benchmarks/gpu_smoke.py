#!/usr/bin/env python
"""Half a minute that says whether the long GPU benchmark can run, before device time is spent on it.

Each check is run in turn and its outcome written to the JSON file at once, so a crash or a cut-off
still leaves what passed:
  versions   python, torch, CUDA, GPU name and compute capability, transformers, datasets, accelerate, ...
  requires   the carried datasets wheel's requirements (pyarrow, fsspec, ...) against the versions this
             machine has preinstalled: a mismatch is named here instead of failing deep inside the benchmark
  map        a tiny `Dataset.map` (the Arrow/multiprocess path the audit tokenises with)
  train      the package's own fine-tune path (FinetuneBackend: device options, sampler, collator) for one
             optimiser step on 64 rows, plus the TrainingArguments it chose and the TF32 state torch reports
With --torch-compile, instead of requires/map/train:
  compile    the same optimiser step with `--torch-compile` (inductor), only where CUDA is present (on a
             CPU it is skipped: compiling there takes minutes and says nothing about the GPU)

    python benchmarks/gpu_smoke.py --model .device/model --json $OUT/smoke.json       # on the GPU machine
    python benchmarks/gpu_smoke.py --cpu --json /tmp/smoke.json                       # the same checks here
    python benchmarks/gpu_smoke.py --torch-compile --model .device/model --json $OUT/compile.json
Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("torch", "transformers", "accelerate", "datasets", "pyarrow", "fsspec", "cleanlab", "numpy", "pandas")


def check_versions(args) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import torch

    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    found["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        found.update(gpu=torch.cuda.get_device_name(), capability=list(torch.cuda.get_device_capability()),
                     cuda=torch.version.cuda)
    elif not args.cpu:
        raise RuntimeError("torch sees no CUDA device (pass --cpu to run the checks on the CPU)")
    return found


def check_requires(args) -> dict:
    """Every non-optional requirement of datasets met by what is installed (pyarrow and fsspec above all)."""
    from importlib.metadata import PackageNotFoundError, requires, version

    from packaging.requirements import Requirement

    unmet = []
    for line in requires("datasets") or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            have = version(req.name)
        except PackageNotFoundError:
            unmet.append(f"{req} (not installed)")
            continue
        if req.specifier and not req.specifier.contains(have, prereleases=True):
            unmet.append(f"{req} (installed {have})")
    if unmet:
        raise RuntimeError("datasets needs " + "; ".join(unmet) + ": carry matching wheels in .whl")
    return {"datasets": version("datasets"), "met": True}


def check_map(args) -> dict:
    import datasets

    datasets.disable_progress_bars()
    ds = datasets.Dataset.from_dict({"text": [f"row {i}" for i in range(256)]})
    mapped = ds.map(lambda b: {"n": [len(t) for t in b["text"]]}, batched=True, batch_size=64)
    assert mapped["n"][:2] == [5, 5], mapped["n"][:2]
    return {"rows": len(mapped)}


def _one_step(args, **options):
    """(Trainer, seconds) of one optimiser step on 64 rows through the package's FinetuneBackend."""
    import numpy as np

    from auditor.backends.finetune import FinetuneBackend
    from auditor.config import TrainConfig, default_model

    texts = [f"i feel {w} today" for w in ("happy", "sad", "angry", "calm")] * 16
    labels = np.array([0, 1, 2, 3] * 16)
    cfg = TrainConfig(model=args.model or default_model(), epochs=1.0, batch_size=64, learning_rate=1e-4,
                      **options)
    backend = FinetuneBackend(4, seed=0, cfg=cfg)
    backend.prepare(texts)
    started = time.perf_counter()
    trainer = backend.train(np.arange(64), labels)
    return trainer, time.perf_counter() - started


def check_train(args) -> dict:
    import torch

    trainer, seconds = _one_step(args)
    a = trainer.args
    found = {
        "steps": trainer.state.global_step, "seconds": round(seconds, 2), "device": str(a.device),
        "bf16": a.bf16, "fp16": a.fp16, "tf32_arg": a.tf32, "optim": str(a.optim),
        "non_blocking": a.accelerator_config.non_blocking, "pin_memory": a.dataloader_pin_memory,
        "loader_workers": a.dataloader_num_workers, "logging_nan_inf_filter": a.logging_nan_inf_filter,
        # Both precision APIs must stay readable: inductor (--torch-compile) reads both.
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "matmul_fp32_precision": getattr(torch.backends.cuda.matmul, "fp32_precision", None),
    }
    if torch.cuda.is_available():
        found["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if a.bf16 != (torch.cuda.get_device_capability() >= (8, 0)) or not (a.bf16 or a.fp16):
            raise RuntimeError(f"expected bf16 from compute capability 8, fp16 below: {found}")
    if found["steps"] != 1:
        raise RuntimeError(f"expected one optimiser step, got {found['steps']}")
    return found


def check_compile(args) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device"}
    trainer, seconds = _one_step(args, torch_compile=True)
    if trainer.state.global_step != 1:
        raise RuntimeError(f"expected one optimiser step, got {trainer.state.global_step}")
    return {"steps": 1, "seconds_with_compiling": round(seconds, 2), "torch_compile": trainer.args.torch_compile,
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


CHECKS = {"versions": check_versions, "requires": check_requires, "map": check_map, "train": check_train}
COMPILE_CHECKS = {"versions": check_versions, "compile": check_compile}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu", action="store_true", help="run the checks without a GPU (to try the script here)")
    p.add_argument("--model", help="default: the packaged all-MiniLM-L6-v2")
    p.add_argument("--json", help="write each check's outcome here as it finishes")
    p.add_argument("--torch-compile", action="store_true",
                   help="check only that one --torch-compile step works (on CUDA; skipped on a CPU)")
    args = p.parse_args(argv)
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch is imported
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    from auditor.distributed import silence_libraries

    silence_libraries()
    report, ok = {}, True
    for name, check in (COMPILE_CHECKS if args.torch_compile else CHECKS).items():
        started = time.perf_counter()
        try:
            report[name] = {"ok": True, **check(args)}
        except Exception as exc:  # every check runs and reports, whatever the one before did
            ok = False
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc()[-2000:]}
        report[name]["wall_s"] = round(time.perf_counter() - started, 2)
        print(f"smoke {name}: {'ok' if report[name]['ok'] else 'FAILED ' + report[name]['error']}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
