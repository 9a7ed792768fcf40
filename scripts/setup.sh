#!/usr/bin/env bash
# Installs what the project needs, idempotently: OpenBLAS + LAPACKE, Open MPI, GNU time and Chromium (Debian) and the
# Python packages of the checks.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if ! pkg-config --exists openblas 2>/dev/null || [ ! -f /usr/include/lapacke.h ]; then
  echo "setup: installing libopenblas-dev liblapacke-dev pkg-config"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas-dev liblapacke-dev pkg-config >/dev/null
fi

if ! command -v mpirun >/dev/null 2>&1 || ! pkg-config --exists ompi-c 2>/dev/null; then
  echo "setup: installing openmpi-bin libopenmpi-dev (treeattn-mpi)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
fi
# Network emulation for `treeattn-mpi validate --networks netns,two-tier` (ip, tc; unshare gives each emulated host
# its own host name); usually present.
if ! command -v tc >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
  echo "setup: installing iproute2"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq iproute2 >/dev/null
fi
if ! command -v unshare >/dev/null 2>&1; then
  echo "setup: installing util-linux"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq util-linux >/dev/null
fi
# GNU time (/usr/bin/time -f): python/bench_cli.py reads random-inputs' peak RSS from it.
if [ ! -x /usr/bin/time ]; then
  echo "setup: installing time"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi

# Headless Chromium and its driver for the explainer's browser test (python/explainer_browser.py): Debian's own, so no
# browser is downloaded.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "setup: installing chromium chromium-driver (the explainer's browser test)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

PY=${PYTHON:-python3}
missing=()
for spec in numpy:numpy mpmath:mpmath safetensors:safetensors ml_dtypes:ml_dtypes jax:jax selenium:selenium; do
  module=${spec%%:*}; package=${spec##*:}
  "$PY" -c "import $module" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: pip installing ${missing[*]}"
  "$PY" -m pip install -q "${missing[@]}"
fi
