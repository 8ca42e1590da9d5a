#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint, then pytest.
# Runs on SQLite; also on PostgreSQL when LABELLOOP_TEST_POSTGRES_URL names a server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/python -m pytest "$@"
