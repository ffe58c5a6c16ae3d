#!/usr/bin/env bash
# Start the Lorag studio: installs what is missing (venv, packages, Weaviate server), then runs launch.py.
# ./start.sh --help lists the flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source scripts/env.sh
scripts/setup.sh
exec "$LORAG_VENV/bin/python" launch.py "$@"
