# The course's commands. Each one sets up .venv first when it is missing or out of date.
#   make lab        JupyterLab on lessons/ (LAB_ARGS="--no-browser --port 8890" to pass options)
#   make test       ruff, the unit tests, every lesson under nbval, the lesson pairs in sync
#                   (in parallel on every core; PYTEST_ARGS= for one process)
#   make test-portable  every lesson under nbval again, computed as two older processors would
#   make notebooks  re-execute the lessons (LESSONS=lessons/01_cosine_similarity.md for one)
#   make bench      the benchmarks in bench/, CPU and (when present) GPU
#   make book       the course as an HTML book in book/_build/html (from the executed lessons)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.d
LESSONS ?= $(wildcard lessons/[0-9]*.md)
BENCHES := $(filter-out bench/_%,$(wildcard bench/*.py))
# JupyterLab refuses to run as root without --allow-root (containers, many cloud machines).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test test-portable notebooks bench book venv clean

venv: $(READY)

$(READY): pyproject.toml binder/jupyterlab-settings.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	mkdir -p $(LAB_SETTINGS)
	cp binder/jupyterlab-settings.json $(LAB_SETTINGS)/course.json
	touch $@

lab: $(READY)
	$(BIN)/jupyter-lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/lessons \
		$(ALLOW_ROOT) $(LAB_ARGS)

# One pytest worker per core, each with one BLAS thread so workers do not fight over the cores.
# --dist loadscope keeps a test module, and a notebook's cells (one kernel), on one worker.
# PYTEST_ARGS= runs everything in one process.
PYTEST_ARGS ?= -n auto --dist loadscope
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

test: $(READY)
	$(BIN)/ruff check .
	$(ONE_THREAD) $(BIN)/pytest $(PYTEST_ARGS) tests lessons $(NBVAL)

# The stored outputs must be what every correct machine prints: run the lessons as a processor
# one and then two generations older would compute them (another OpenBLAS kernel, numpy
# without its widest SIMD level; see tests/second_machine.py).
test-portable: $(READY)
	@for g in 1 2; do \
		vars=$$($(BIN)/python tests/second_machine.py $$g) || exit 1; \
		env $$vars $(ONE_THREAD) $(BIN)/pytest $(PYTEST_ARGS) lessons $(NBVAL) -q || exit 1; \
	done

# The .md is the source: write its .ipynb twin, then execute it in place (without per-cell
# timestamps, so a re-run changes only what the lesson shows).
notebooks: $(READY)
	$(BIN)/jupytext --update --to ipynb $(LESSONS)
	$(BIN)/jupyter-nbconvert --to notebook --execute --inplace \
		--NotebookClient.record_timing=False \
		$(LESSONS:.md=.ipynb)

bench: $(READY)
	@for b in $(BENCHES); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The stored .ipynb are the pages (nothing re-executed); see book/build.py.
book: $(READY)
	$(BIN)/python book/build.py

clean:
	rm -rf $(VENV) book/_build
