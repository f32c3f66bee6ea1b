PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml sandbox/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./sandbox
	touch $(STAMP)

install: $(STAMP)  ## create .venv; install the bot with its dev extra, and the sandbox beside it

lint: $(STAMP)
	$(BIN)/ruff check bot sandbox tests migrations
	$(BIN)/ruff format --check bot sandbox tests migrations

typecheck: $(STAMP)
	$(BIN)/mypy --strict bot sandbox

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest  ## ruff, mypy --strict and the whole test suite

demo: $(STAMP)  ## the whole flow offline: SQLite, local AWS, local Slack
	$(BIN)/python -m sandbox demo

bench: $(STAMP)  ## benchmarks under tests/benchmarks, figures printed and written as JSON
	$(BIN)/pytest tests/benchmarks -s -m benchmark

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
