# The two commands of the README: `make run` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint install docs

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

## run: the whole service on embedded defaults (API, worker, scheduler) until Ctrl-C
run: install
	$(BIN)/tdbuddy dev

## test: the whole suite against PostgreSQL, Redis and moto's S3 server on this machine
test: install
	$(BIN)/pytest

## lint: ruff and mypy, as CI runs them
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## docs: rewrite docs/field-types.md from the catalog (a test checks it is current)
docs: install
	$(BIN)/python -m generators.catalog_docs > docs/field-types.md
