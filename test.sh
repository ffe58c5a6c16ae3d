#!/usr/bin/env bash
# Run Lorag's whole test suite: installs what is missing (venv, packages, Weaviate server, Chromium),
# then runs pytest with any arguments given (./test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source scripts/env.sh
scripts/setup.sh --browser
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# Test files run in parallel (pytest-xdist), a file's tests on one worker so its module fixtures start once:
# most tests wait on a server, a browser or a model load: on 2 cores the suite took 36 min in one process, 23 on 2.
# LORAG_TEST_WORKERS=0 runs them in this one process; a later -n given to this script wins.
workers="${LORAG_TEST_WORKERS:-$(( $(nproc) < 4 ? 2 : 4 ))}"
exec "$LORAG_VENV/bin/python" -m pytest -n "$workers" --dist loadfile "$@"
