# Sourced by start.sh and test.sh: where the shared venv and tools live (outside the clone, reused).
export LORAG_HOME="${LORAG_HOME:-$HOME/.cache/lorag}"
export LORAG_VENV="${LORAG_VENV:-$LORAG_HOME/venv}"
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 SCARF_NO_ANALYTICS=true \
       UNSTRUCTURED_DISABLE_NOTICE=1 TOKENIZERS_PARALLELISM=false
