#!/usr/bin/env bash
# Idempotent setup: virtual environment, Python packages, front-end assets, translations.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "→ 创建虚拟环境 $VENV (creating virtualenv)"
  "$PYTHON" -m venv "$VENV"
fi
extras=""
[[ -n "${WITH_TEST:-}" ]] && extras="[test]"
stamp="$VENV/.installed$(echo "$extras" | tr -d '[]')-$(sha1sum pyproject.toml | cut -c1-12)"
if [[ ! -f "$stamp" ]]; then
  echo "→ 安装 Python 依赖 (installing Python packages)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install --quiet -e ".${extras}"
  touch "$stamp"
fi

"$VENV/bin/python" scripts/assets.py
"$VENV/bin/pybabel" compile -d app/translations >/dev/null 2>&1 || "$VENV/bin/pybabel" compile -d app/translations
