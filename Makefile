# Every target works in a project-local virtual environment, made once with
# $(PYTHON) (python3 unless told otherwise: `make test PYTHON=python3.12`) and
# reused after; nothing is installed into the interpreter that started make,
# so the same commands work with a Debian system Python (PEP 668) or a pyenv
# or conda one. The package and the extra a target needs are installed into
# the environment the first time, and again when pyproject.toml or setup.py
# change. `make clean` removes the environments and every build output.
PYTHON ?= python3
VENV ?= .venv
VENV_MIN ?= .venv-min
VPY = $(VENV)/bin/python
PIP_FLAGS = --quiet --disable-pip-version-check
# what an install depends on: metadata, build script, compiled sources
INSTALL_INPUTS = pyproject.toml $(wildcard setup.py skl_sparse_ae/*.pyx skl_sparse_ae/*.pxd \
	skl_sparse_ae/*.h)

.PHONY: demo test test-min lint format docs bench clean

# The main job: the seed experiment on scikit-learn's bundled digits (offline).
demo: $(VENV)/.installed-plot
	$(VPY) -m skl_sparse_ae --dataset digits --output-dir results/digits

test: $(VENV)/.installed-test
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VPY) -m pytest

# The suite against the oldest release of every declared dependency (runtime
# and test extra) that installs on $(PYTHON), in an environment of its own.
test-min: $(VENV_MIN)/.installed-test
	cat $(VENV_MIN)/constraints.txt
	$(VENV_MIN)/bin/python -m pytest

docs: $(VENV)/.installed-docs
	$(VPY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.installed-test
	$(VPY) benchmarks/bench_stacked_mnist.py --config default mlp

lint: $(VENV)/.installed-test
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .

format: $(VENV)/.installed-test
	$(VPY) -m ruff format .
	$(VPY) -m ruff check --fix .

clean:
	rm -rf $(VENV) $(VENV_MIN) build dist *.egg-info skl_sparse_ae/*.so \
		skl_sparse_ae/_kernels.c docs/_build docs/auto_examples docs/generated \
		docs/sg_execution_times.rst .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# A virtual environment; a failed creation (Debian without python3-venv)
# leaves nothing half-made behind.
$(VPY) $(VENV_MIN)/bin/python:
	$(PYTHON) -m venv $(@:/bin/python=) || { rm -rf $(@:/bin/python=); \
		echo "$(PYTHON) -m venv failed: on Debian/Ubuntu, apt install python3-venv"; \
		exit 1; }

# The package (editable, through pip's build isolation) with one extra.
$(VENV)/.installed-%: $(INSTALL_INPUTS) | $(VPY)
	$(VPY) -m pip install $(PIP_FLAGS) -e ".[$*]"
	touch $@

# The same with each bounded requirement pinned to its oldest installable release.
$(VENV_MIN)/.installed-%: $(INSTALL_INPUTS) maint_tools/min_requirements.py | $(VENV_MIN)/bin/python
	$(VENV_MIN)/bin/python -m pip install $(PIP_FLAGS) packaging \
		'tomli; python_version < "3.11"'
	$(VENV_MIN)/bin/python maint_tools/min_requirements.py $* > $(VENV_MIN)/constraints.txt
	$(VENV_MIN)/bin/python -m pip install $(PIP_FLAGS) --prefer-binary \
		-c $(VENV_MIN)/constraints.txt -e ".[$*]"
	touch $@
