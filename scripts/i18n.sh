#!/usr/bin/env bash
# Refresh the English catalog: extract every marked string (_, N_, _l, lazy_gettext, gettext),
# merge it into app/translations/en/LC_MESSAGES/messages.po and compile the .mo.
# Then translate the new (empty or "fuzzy") entries in messages.po and run this again;
# tests/test_i18n.py fails while an entry is untranslated.
set -euo pipefail
VENV="${VENV:-.venv}"
POT="$(mktemp -t jianjia-messages.XXXXXX.pot)"
trap 'rm -f "$POT"' EXIT
"$VENV/bin/pybabel" extract -F babel.cfg -k N_ -k _l -k lazy_gettext --no-location --sort-output \
    -o "$POT" .
"$VENV/bin/pybabel" update -i "$POT" -d app/translations -l en --no-fuzzy-matching --ignore-obsolete
"$VENV/bin/pybabel" compile -d app/translations --statistics
