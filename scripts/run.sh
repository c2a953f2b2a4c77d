#!/usr/bin/env bash
# Start web + worker. Embedded default (no REDIS_URL): jobs wait in the database and
# `flask jobs work` runs them. With REDIS_URL: the Procfile's rq worker and sweeper.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
export PATH="$PWD/$VENV/bin:$PATH"
export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-5000}"
cat <<MSG

  建家 Jianjia 已就绪 (ready):  http://$HOST:$PORT/
  数据库 (database): ${DATABASE_URL:-SQLite instance/jianjia.sqlite}
  任务队列 (jobs):   ${REDIS_URL:-内置数据库队列 (embedded database queue)}

MSG
flask --app app demo load --if-empty | sed 's/^/  /'
echo
echo "  按 Ctrl+C 停止 (Ctrl+C to stop)"
echo
if [[ -n "${REDIS_URL:-}" ]]; then
  exec honcho -f Procfile start
fi
exec honcho -f scripts/Procfile.embedded start
