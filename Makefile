PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its dev extra

lint: $(STAMP)
	$(BIN)/ruff check bot tests migrations
	$(BIN)/ruff format --check bot tests migrations

typecheck: $(STAMP)
	$(BIN)/mypy --strict bot

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest  ## ruff, mypy --strict and the whole test suite

demo: $(STAMP)  ## the whole flow offline: SQLite, local AWS, local Slack
	$(BIN)/python -m bot demo

bench: $(STAMP)  ## benchmarks under tests/benchmarks, figures printed and written as JSON
	$(BIN)/pytest tests/benchmarks -s -m benchmark

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
