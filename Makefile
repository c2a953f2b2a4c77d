# Jianjia — the two commands of the README:
#   make run    set up and start the product (web + worker) with demo data
#   make test   set up and run the whole test suite
# Both work on a fresh machine with only Python 3.11+ (SQLite, embedded job queue).

PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test bench faults setup setup-test assets translations i18n migrate demo clean

run: setup migrate demo
	@HOST=$(HOST) PORT=$(PORT) VENV=$(VENV) bash scripts/run.sh

test: setup-test
	@VENV=$(VENV) bash scripts/test.sh $(ARGS)

setup:
	@PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup.sh

setup-test:
	@PYTHON=$(PYTHON) VENV=$(VENV) WITH_TEST=1 bash scripts/setup.sh

# Extract new strings into the English catalog, then translate them in
# app/translations/en/LC_MESSAGES/messages.po and run it again to compile.
i18n:
	@VENV=$(VENV) bash scripts/i18n.sh

# The benchmark harness (issue 7): PostgreSQL + Redis + gunicorn + locust; writes tests/perf/RESULTS.md.
bench: setup-test
	@$(VENV)/bin/python -m pip install --quiet -e ".[test,perf]"
	@$(VENV)/bin/python tests/perf/bench.py $(ARGS)

# Fault injection (issue 8): gunicorn + RQ worker on a scratch PostgreSQL database and a private Redis
# (port 6390); Redis flushed and restarted, the worker SIGKILLed and PostgreSQL restarted during a
# submission surge. Writes tests/faults/RESULTS.md.
faults: setup-test
	@$(VENV)/bin/python tests/faults/run.py $(ARGS)

migrate:
	@$(VENV)/bin/flask --app app db upgrade

demo:
	@$(VENV)/bin/flask --app app demo load --if-empty >/dev/null

clean:
	rm -rf $(VENV) node_modules app/static/vendor instance .pytest_cache
