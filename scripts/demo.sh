#!/usr/bin/env bash
# Set up (if needed) and run the demo: a dataset of generated images, imported and counted.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export LABELLOOP_HOME=${LABELLOOP_HOME:-$PWD/.labelloop}
.venv/bin/labelloop demo
.venv/bin/labelloop dataset show demo-shapes
