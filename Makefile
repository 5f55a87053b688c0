# The two set-up commands of the README:
#   make lab    create .venv if missing, install the course, open JupyterLab on notebooks/
#   make test   create .venv if missing, install with the test extra, run every test
# Variables: PYTHON (interpreter used to create .venv), NO_BROWSER=1 (headless lab),
# PORT (lab port), LAB_ARGS (extra jupyter lab flags, e.g. --allow-root), PROFILE (quick|full notebook profile for tests), PYTEST_ARGS.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8888
PROFILE ?= quick
PYTEST_ARGS ?=
# On CI (CI is set) keep torch on the CPU build that CI machines hold on disk.
CONSTRAINTS := $(if $(CI),-c .ci/constraints.txt,)
LAB_ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told it may.
LAB_FLAGS := $(if $(NO_BROWSER),--no-browser,) $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

.PHONY: lab test bench figure1 notebooks execute clean help

help:
	@echo "make lab    - install and open the course in JupyterLab (NO_BROWSER=1 on headless machines)"
	@echo "make test   - install with the test extra and run every test (unit tests and notebooks)"
	@echo "make notebooks - regenerate notebooks/ from solutions/"
	@echo "make execute - refresh the checked outputs of solutions/ (NB=01 for one notebook)"
	@echo "make bench  - run the speed benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# Re-install only when pyproject.toml changes (the stamp files record the last install).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(CONSTRAINTS) -e ".[test]"
	touch $(VENV)/.installed $@

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(LAB_FLAGS)

test: $(VENV)/.installed-test
	SESMLIB_PROFILE=$(PROFILE) $(BIN)/python -m pytest $(PYTEST_ARGS)

notebooks: $(VENV)/.installed
	$(BIN)/python -m sesmlib.course build

# Re-run solutions (quick profile) to refresh their checked outputs; NB=01 limits it to one.
execute: $(VENV)/.installed
	$(BIN)/python -m sesmlib.course execute $(NB)

bench: $(VENV)/.installed
	$(BIN)/python -m pip install $(CONSTRAINTS) -e ".[bench]"
	$(BIN)/python -m sesmlib bench sesm
	$(BIN)/python -m sesmlib bench rbm

figure1: $(VENV)/.installed
	$(BIN)/python -m sesmlib reproduce figure1 --out figure1-out --search --report docs/reproduction.md

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
