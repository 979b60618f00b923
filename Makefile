# Each target installs what it needs first, so it works on a fresh machine.
PYTHON ?= python3
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint format docs bench

# The main job: the seed experiment on scikit-learn's bundled digits (offline).
demo:
	$(PIP) -e ".[plot]"
	$(PYTHON) -m skl_sparse_ae --dataset digits --output-dir results/digits

test:
	$(PIP) -e ".[test]"
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pytest

docs:
	$(PIP) -e ".[docs]"
	$(PYTHON) -m sphinx -W --keep-going -b html docs docs/_build/html

bench:
	$(PIP) -e ".[test]"
	$(PYTHON) benchmarks/bench_stacked_mnist.py --config default mlp

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .
