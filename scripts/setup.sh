#!/usr/bin/env bash
# Installs auditor and what it needs. On a machine without an NVIDIA GPU it installs PyTorch's
# CPU build first, so that no multi-GB CUDA build is pulled in as a dependency.
#   bash scripts/setup.sh          # the package
#   bash scripts/setup.sh --test   # the package and the test tools (pytest, hypothesis, playwright)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

if ! "$PY" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    "$PY" -m pip install "torch"
  # "+cpu" names only CPU builds (PyPI has none, so it can never pull CUDA): a local wheel or a
  # configured index first; otherwise PyTorch's own CPU index.
  elif ! "$PY" -m pip install "torch==$TORCH_VERSION+cpu"; then
    "$PY" -m pip install "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

if [ "${1:-}" = "--test" ]; then
  "$PY" -m pip install -e ".[test]"
else
  "$PY" -m pip install -e .
fi
