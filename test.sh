#!/usr/bin/env bash
# Run Lorag's whole test suite: installs what is missing (venv, packages, Weaviate server, Chromium),
# then runs pytest with any arguments given (./test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source scripts/env.sh
scripts/setup.sh --browser
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
exec "$LORAG_VENV/bin/python" -m pytest "$@"
