#!/usr/bin/env bash
# Set up (if needed) and run the demo: a dataset of generated images, served by the web app.
# Open the URL it prints; Ctrl+C stops it. Running it again keeps what you labeled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export LABELLOOP_HOME=${LABELLOOP_HOME:-$PWD/.labelloop}
if ! .venv/bin/labelloop dataset show demo-shapes >/dev/null 2>&1; then
  .venv/bin/labelloop demo
fi
exec .venv/bin/labelloop serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
