# The two set-up commands of the README:
#   make lab    create .venv if missing, install the course, copy the course notebooks missing
#               from work/ (the student's own, git-ignored folder) and open JupyterLab there
#   make test   create .venv if missing, install with the test extra, run every test
# Variables: PYTHON (interpreter used to create .venv), NO_BROWSER=1 (headless lab),
# PORT (lab port), LAB_ARGS (extra jupyter lab flags, e.g. --allow-root), WORK (the students'
# folder, default work), NB (notebooks for execute/progress), DIR and OUT (grade), FORCE=1
# (notebooks), PROFILE (quick|full notebook profile for tests and the book), PYTEST_ARGS,
# BOOK_OUT (where make book builds; the site is BOOK_OUT/html).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8888
WORK ?= work
PROFILE ?= quick
PYTEST_ARGS ?=
BOOK_OUT ?= _build/book
# On CI (CI is set) keep torch on the CPU build that CI machines hold on disk.
CONSTRAINTS := $(if $(CI),-c .ci/constraints.txt,)
LAB_ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told it may.
LAB_FLAGS := $(if $(NO_BROWSER),--no-browser,) $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

.PHONY: lab test update progress grade book bench figure1 notebooks execute clean help

# Lists every target: the text after '## ' on its rule line, else the comment line above it.
help:  ## list every target and what it does
	@awk '/^#/ { prev = substr($$0, 3); next } \
	  /^[A-Za-z0-9_-]+:([^=]|$$)/ { split($$0, t, ":"); i = index($$0, "## "); \
	    printf "  make %-10s %s\n", t[1], (i ? substr($$0, i + 3) : prev) } \
	  { prev = "" }' $(firstword $(MAKEFILE_LIST))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# Re-install only when pyproject.toml changes (the stamp files record the last install).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(CONSTRAINTS) -e .
	touch $@

# The tests build the course website too, so they install the book extra.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(CONSTRAINTS) -e ".[test,book]"
	touch $(VENV)/.installed $(VENV)/.installed-book $@

$(VENV)/.installed-book: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(CONSTRAINTS) -e ".[book]"
	touch $(VENV)/.installed $@

lab: $(VENV)/.installed  ## set up (first run), copy new course notebooks into work/, open JupyterLab there (NO_BROWSER=1 headless)
	$(BIN)/python -m sesmlib.course setup --work $(WORK)
	$(BIN)/jupyter lab --notebook-dir=$(WORK) --port=$(PORT) $(LAB_FLAGS)

test: $(VENV)/.installed-test  ## set up (first run) with the test extra and run every test, notebooks included
	SESMLIB_PROFILE=$(PROFILE) $(BIN)/python -m pytest $(PYTEST_ARGS)

update: $(VENV)/.installed  ## bring new and updated course notebooks into work/ keeping your answers (after git pull)
	$(BIN)/python -m sesmlib.course update --work $(WORK)

progress: $(VENV)/.installed  ## run your notebooks in work/ (NB=03 for one) and list each exercise: passed, not done, failing
	$(BIN)/python -m sesmlib.course progress --work $(WORK) $(NB)

grade: $(VENV)/.installed  ## grade a folder of submitted notebooks: make grade DIR=submissions OUT=grades.csv
	$(if $(DIR),,$(error make grade needs DIR=<folder of submitted notebooks> (and OUT=grades.csv)))
	$(BIN)/python -m sesmlib.course grade $(DIR) --out $(or $(OUT),grades.csv)

# The course website: executes the solutions (cached), renders them offline, checks links.
book: $(VENV)/.installed-book  ## build the course website from the solutions (PROFILE=full to publish) and print where it is
	$(BIN)/python book/build.py --profile $(PROFILE) --out $(BOOK_OUT)

notebooks: $(VENV)/.installed  ## regenerate notebooks/ from solutions/ (FORCE=1: also files edited by hand, backed up in work/backups/)
	$(BIN)/python -m sesmlib.course build $(if $(FORCE),--force,)

# Re-run solutions (quick profile) to refresh their checked outputs; NB=01 limits it to one.
execute: $(VENV)/.installed
	$(BIN)/python -m sesmlib.course execute $(NB)

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(CONSTRAINTS) -e ".[bench]"
	touch $(VENV)/.installed $@

bench: $(VENV)/.installed-bench  ## run the speed benchmarks (scikit-learn installed once, for the RBM comparison)
	$(BIN)/python -m sesmlib bench sesm
	$(BIN)/python -m sesmlib bench rbm

figure1: $(VENV)/.installed  ## reproduce Figure 1; regenerate docs/reproduction.md and the reference run notebook 06 shows
	$(BIN)/python -m sesmlib reproduce figure1 --out figure1-out --search --speed --report docs/reproduction.md --save-reference

clean:  ## remove .venv (the caches stay in ~/.cache/sesmlib)
	rm -rf $(VENV) *.egg-info .pytest_cache
