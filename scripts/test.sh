#!/usr/bin/env bash
# Run the whole suite. Embedded default: SQLite + fakeredis. When DATABASE_URL (with
# MIGRATION_DATABASE_URL) and REDIS_URL are set, the same tests run against them, and with
# JIANJIA_REQUIRE_SERVICES=1 the PostgreSQL/Redis/browser tests fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
exec "$VENV/bin/python" -m pytest "$@"
