# Two commands: `make run` (set up and serve the studio) and `make test` (set up and run every test).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
# Empty: localhost, no login. Any other address (make run ADDRESS=0.0.0.0) needs a login configured.
ADDRESS ?=
# Tests run in parallel processes: while one waits on a job process or a server, another runs.
TEST_WORKERS ?= auto

.PHONY: run test setup lint format bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	bash scripts/install-deps.sh $(PY) requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/canvascraft init
	$(VENV)/bin/canvascraft studio --port $(PORT) $(if $(ADDRESS),--address $(ADDRESS))

test: $(STAMP)
	bash scripts/test-deps.sh
	$(VENV)/bin/lint-imports
	source scripts/postgres.sh && $(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	set -e; for script in bench/*_bench.py; do echo "== $$script"; $(PY) $$script; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
