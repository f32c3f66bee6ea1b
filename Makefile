PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := requirements.lock
CONSTRAINTS := $(VENV)/constraints.txt
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/checkov/bin/checkov

.PHONY: install test lint typecheck pytest demo bench clean lock checkov

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The runtime dependencies at the lock's versions (the image's), without its hashes: pip checks
# no hashes for an editable install.
$(STAMP): $(BIN)/python pyproject.toml sandbox/pyproject.toml $(LOCK)
	sed -e '/^ *--hash/d' -e 's/ *\\$$//' $(LOCK) > $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]' -e ./sandbox
	touch $(STAMP)

install: $(STAMP)  ## create .venv; install the bot with its dev extra, and the sandbox beside it

lock: $(BIN)/uv  ## refresh requirements.lock: the newest runtime dependencies pyproject.toml allows
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--upgrade --custom-compile-command 'make lock' --quiet --output-file $(LOCK)

$(BIN)/uv: | $(BIN)/python  # the dev extra has it; a lock to repair needs it before install
	$(BIN)/python -m pip install --quiet uv

# checkov in a venv of its own: it needs bc-python-hcl2, which installs the same `hcl2` module as
# the dev extra's python-hcl2. tests/test_deploy.py runs this target when checkov is missing.
checkov: $(CHECKOV)  ## checkov, for tests/test_deploy.py

$(CHECKOV):
	$(PYTHON) -m venv $(VENV)/checkov || python3 -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)

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
