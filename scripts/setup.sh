#!/usr/bin/env bash
# Installs auditor and what it needs. On a machine without an NVIDIA GPU it installs PyTorch's
# CPU build first, so that no multi-GB CUDA build is pulled in as a dependency.
#   bash scripts/setup.sh             # the package
#   bash scripts/setup.sh --test      # the package and the test tools (pytest, hypothesis, playwright)
#   bash scripts/setup.sh --verbose   # show pip's full output (quiet by default: errors still show)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
EXTRAS=""
QUIET=(-q)
for arg in "$@"; do
  case "$arg" in
    --test) EXTRAS="[test]" ;;
    --verbose) QUIET=() ;;
    *) echo "setup.sh: unknown option $arg (expected --test, --verbose)" >&2; exit 2 ;;
  esac
done
pip_install() { "$PY" -m pip install ${QUIET[@]+"${QUIET[@]}"} "$@"; }

if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "setup: installing PyTorch"
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    pip_install "torch"
  # "+cpu" names only CPU builds (PyPI has none, so it can never pull CUDA): a local wheel or a
  # configured index first; otherwise PyTorch's own CPU index.
  elif ! pip_install "torch==$TORCH_VERSION+cpu" 2>/dev/null; then
    pip_install "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

echo "setup: installing auditor${EXTRAS:+ with test tools}"
pip_install -e ".$EXTRAS"
echo "setup: done"
