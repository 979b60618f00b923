# Each target installs what it needs first, so it works on a fresh machine.
PYTHON ?= python3

.PHONY: install test lint format

install:
	$(PYTHON) -m pip install --quiet -e ".[test]"

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .
