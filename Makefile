# The two set-up commands: `make run` (the app with demo data, embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
PIP_QUIET := --quiet --disable-pip-version-check
# bash with pipefail: a failed pip install stops make even though its output goes through grep.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# Every pip install is held to the versions in constraints.txt (a new release cannot break a fresh machine).
PIP_INSTALL := $(BIN)/pip install $(PIP_QUIET) -c constraints.txt

.PHONY: run test lint install install-test assets services worker clean translations lock bench bench-eligibility

run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(FLASK) db upgrade
	$(FLASK) ptce demo
	$(FLASK) ptce tick
	@echo "Application : http://127.0.0.1:$(PORT)"
	$(BIN)/gunicorn --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - --graceful-timeout 5 wsgi:app

# The suite on TEST_WORKERS processes (pytest-xdist; a worker that is done takes tests queued for the other, so no
# long file is left for one worker at the end); each worker has its own PostgreSQL and Redis databases.
# TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: install-test services
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: install-test
	$(BIN)/ruff check .

install: $(VENV)/.installed-run node_modules/.installed
	@scripts/system-deps.sh run
	@scripts/translations.sh compile

install-test: $(VENV)/.installed-test node_modules/.installed
	@scripts/system-deps.sh test
	@scripts/translations.sh compile

translations: $(VENV)/.installed-test
	scripts/translations.sh

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/python -c "import ptce_aap, flask, sqlalchemy, weasyprint"
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[test]' 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/python -c "import ptce_aap, pytest, moto, aiosmtpd, playwright, schemathesis"
	touch $@ $(VENV)/.installed-run

# Benchmarks (bench/README.md): the load benchmarks against gunicorn in production settings, the exports and
# the documents ZIP, then bench/RESULTS.md. Sizes: BENCH_DOSSIERS (the pages), BENCH_SIZES (scaling curve).
BENCH_DOSSIERS ?= 5000
BENCH_SIZES ?= 500,2000
BENCH_EXPORT_SIZES ?= 500,2000,5000
BENCH_ZIP_SIZES ?= 500
BENCH_SECONDS ?= 6
bench: install-test $(VENV)/.installed-bench
	$(BIN)/python bench/load.py --dossiers $(BENCH_DOSSIERS) --sizes $(BENCH_SIZES) --seconds $(BENCH_SECONDS)
	$(BIN)/python bench/exports.py --sizes $(BENCH_EXPORT_SIZES) --zip-sizes $(BENCH_ZIP_SIZES)
	$(BIN)/python bench/report.py

# The call-wide eligibility re-run of 10,000 dossiers with 2 RQ workers (target < 120 s): ~6 minutes (the data
# alone ~4), so not in `bench` (which must stay under 10 minutes). Results in bench/results/eligibility_run.json.
BENCH_ELIGIBILITY_DOSSIERS ?= 10000
BENCH_ELIGIBILITY_WORKERS ?= 2
bench-eligibility: install-test $(VENV)/.installed-bench
	$(BIN)/python bench/eligibility_run.py --dossiers $(BENCH_ELIGIBILITY_DOSSIERS) --workers $(BENCH_ELIGIBILITY_WORKERS)

$(VENV)/.installed-bench: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[test,bench]' 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/python -c "import locust"
	touch $@

# After a change of pyproject.toml: `make lock` rewrites constraints.txt from the venv (commit it with the suite green).
lock: | $(VENV)/bin/python
	$(BIN)/pip install $(PIP_QUIET) -e '.[test,bench]' 2>&1 | { grep -v "^WARNING: Location" || true; }
	{ grep '^#' constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

assets: node_modules/.installed

services:
	@scripts/services.sh

worker: install
	$(FLASK) ptce worker

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
	find ptce_aap/translations -name '*.mo' -delete
