#!/usr/bin/env bash
# The GPU measurement of benchmarks/gpu_speed.py on the lent H100 (see /work/shared/device/README.md).
#
# 1. Here, once, in the repository root (the checkout the device tool sends; this branch merged):
#      bash benchmarks/gpu_device_run.sh --prepare
#    It downloads the Python 3.12 wheels the GPU image lacks into .whl/ and writes an fp16 copy of the
#    packaged MiniLM (about 45 MB, under the 64 MiB carry limit) to .device/model. Both are git-ignored.
# 2. On the device, with carry [".whl", ".device"] (one call, about 2-4 minutes):
#      bash benchmarks/gpu_device_run.sh
#    Results come back in $OUT: gpu_speed.json and gpu_speed.log (the CPU-comparable ratio is in both).
set -euo pipefail

if [ "${1:-}" = "--prepare" ]; then
    rm -rf .whl && mkdir -p .whl
    # datasets and cleanlab with the dependencies the image does not have (its list: KINDS.md).
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 cleanlab==2.9.0 termcolor==3.3.0
    python3 ../shared/device/pack_model.py .device/model
    du -sh .whl .device
    exit 0
fi

OUT="${OUT:-/tmp/gpu-speed-out}"
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:. HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu_speed.log"
python3 -c "import torch, transformers, datasets, cleanlab; print(torch.__version__, transformers.__version__, datasets.__version__, cleanlab.__version__)" \
    | tee -a "$OUT/gpu_speed.log"
# The full emotion training split: (a) the book's fine-tune, then (b) the 5-fold audit, same process.
python3 benchmarks/gpu_speed.py --device cuda --model .device/model --json "$OUT/gpu_speed.json" 2>&1 \
    | tee -a "$OUT/gpu_speed.log"
# The trade-off around the defaults (batch 256, lr 3e-4, 2 epochs), each against a fresh book run:
# more, smaller steps (safer accuracy, slower) and fewer, larger ones (faster, riskier accuracy).
python3 benchmarks/gpu_speed.py --device cuda --model .device/model --batch-size 128 --learning-rate 2e-4 \
    --json "$OUT/gpu_speed_b128.json" 2>&1 | tee -a "$OUT/gpu_speed.log"
python3 benchmarks/gpu_speed.py --device cuda --model .device/model --batch-size 512 --learning-rate 4e-4 \
    --audit-epochs 3 --json "$OUT/gpu_speed_b512.json" 2>&1 | tee -a "$OUT/gpu_speed.log"
