# Two commands do all the set-up: `make lab` and `make test` (see README.md).
# Set-up is idempotent: the venv is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.synthlib-installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
LAB_PORT ?= 8888
LAB_DIR  ?= notebooks
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Where the smoke runs of `make test` write, so they never overwrite real runs in runs/.
TEST_RUNS := $(CURDIR)/build/test-runs

.PHONY: setup data browser lab test unit lint notebooks course sweep bench bench-quick gpu-check gpu-bundle clean weights help
help:
	@echo "make lab     - set up, then serve the notebooks in JupyterLab"
	@echo "make test    - set up, then lint, every test and every notebook under nbval (smoke profile); what CI runs"
	@echo "make unit    - the fast tier for the edit-test loop: tests not marked slow or browser (under 2 min)"
	@echo "make lint    - ruff over synthlib, tests, experiments, benchmarks and scripts (pyproject.toml's rules)"
	@echo "make course  - execute every notebook with papermill (default profile) into runs/"
	@echo "make sweep   - rerun the DCGAN notebook over a small grid into runs/sweep/"
	@echo "make bench   - training speed of every family: synthlib's step vs a peer's and the machine's ceiling"
	@echo "make bench-quick - the same in seconds (tiny sizes, one step): checks that it runs"
	@echo "make gpu-check - on a lent GPU (~8 min): every family's step, compile, a StyleGAN2 burst -> benchmarks/results/"
	@echo "make gpu-bundle - .gpu/: the data and wheels a lent GPU machine needs for gpu-check (it cannot download)"
	@echo "make weights - train the course weights not yet built (NAME=dcgan-fashion: one), resuming"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# JupyterLab's defaults for this course (no "get notified about news?" toast over the notebook's corner):
# app-level overrides in the venv, so a learner's own settings still win.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): scripts/jupyterlab-overrides.json $(STAMP)
	mkdir -p $(dir $@)
	cp $< $@

setup: $(STAMP) $(LAB_OVERRIDES) data

data: $(STAMP)
	$(PY) -m synthlib data

lab: setup
	@echo "Serving $(LAB_DIR)/ -- open the http://127.0.0.1:$(LAB_PORT)/lab?token=... URL printed below."
	$(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) --notebook-dir=$(LAB_DIR) $(LAB_ROOT_FLAG)

# The fast tier: no test marked slow (trains for seconds, spawns processes, runs a notebook) or browser.
unit: setup
	SYNTHLIB_PROFILE=smoke SYNTHLIB_RUNS_ROOT=$(TEST_RUNS) MPLBACKEND=agg \
	  $(PY) -m pytest tests -q -p no:cacheprovider -m "not slow and not browser" --durations=10

lint: $(STAMP)
	$(VENV)/bin/ruff check synthlib tests experiments benchmarks scripts

# Debian's Chromium for tests/test_lab_browser.py (JupyterLab in a real browser). Installed when run
# as root with apt (as in CI); elsewhere that one test is skipped with a note (it fails under CI=true).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) \
	    && echo "chromium installed: $$(command -v chromium)"; \
	else echo "note: chromium is not installed; tests/test_lab_browser.py will be skipped (apt-get install chromium)"; fi

test: setup browser lint
	SYNTHLIB_PROFILE=smoke SYNTHLIB_RUNS_ROOT=$(TEST_RUNS) MPLBACKEND=agg \
	  $(PY) -m pytest tests notebooks --nbval-lax --nbval-cell-timeout=600 -q -p no:cacheprovider --durations=25

course: setup
	@for nb in $(NOTEBOOKS); do \
	  name=$$(basename $$nb .ipynb); out=$(CURDIR)/runs/$$name; mkdir -p $$out; \
	  echo "== $$name (default profile) -> $$out"; \
	  SYNTHLIB_RUN_DIR=$$out MPLBACKEND=agg $(VENV)/bin/papermill $$nb $$out/$$name.ipynb \
	    -p profile default --cwd notebooks --progress-bar || exit 1; \
	  $(VENV)/bin/jupyter nbconvert --to html $$out/$$name.ipynb --log-level WARN || exit 1; \
	done

# Training speed: the DCGAN pair in detail, then every family's step against its peer and its ceiling
# (the table and runs/bench/bench.json).
bench: setup
	$(PY) benchmarks/dcgan_speed.py
	$(PY) benchmarks/family_speed.py

bench-quick: setup
	$(PY) benchmarks/dcgan_speed.py --quick
	$(PY) benchmarks/family_speed.py --quick --out runs/bench/bench-quick.json

# Issue 24: what one lent CUDA GPU does with the course (benchmarks/gpu_check.py); writes benchmarks/results/gpu-DATE.md
gpu-check: setup
	$(PY) benchmarks/gpu_check.py

# What a lent GPU machine lacks for gpu-check (it cannot download): Fashion-MNIST and the diffusers wheel, in .gpu/
# (git-ignored), to name in the device tool's `carry`; benchmarks/README.md gives the command to run there.
gpu-bundle: setup data
	mkdir -p .gpu/whl .gpu/data/FashionMNIST/raw
	cp "$$($(PY) -c 'from synthlib.data.fashion import prepare_fashion_mnist; print(prepare_fashion_mnist())' | tail -n 1)"/*-ubyte* \
	  .gpu/data/FashionMNIST/raw/
	$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux2014_x86_64 -d .gpu/whl "diffusers==$$($(PY) -c 'import diffusers; print(diffusers.__version__)')" importlib_metadata
	@du -sh .gpu; echo 'carry [".gpu"]; run: see benchmarks/README.md, "make gpu-check on a lent GPU"'

# Course weights (issue 23; the synthlib/course_weights package): each chapter's headline model trained once for a budget
# in steps into runs/course-weights/NAME/ (a killed run resumes where it stopped), then exported to
# synthlib/weights/course/ with its manifest entry. No NAME: every name not yet in the manifest, in order.
NAME ?=
weights: setup
	nice -n 19 $(PY) -m synthlib.course_weights train $(NAME)

# Chapter 2 over a small grid (loss x seed), then the comparison notebook on the results.
# SYNTHLIB_RUN_DIR is absolute because papermill runs the kernel in notebooks/ (--cwd).
SWEEP_PROFILE ?= default
SWEEP_LOSSES  ?= nonsaturating hinge
SWEEP_SEEDS   ?= 0 1
SWEEP_DIR     := $(CURDIR)/runs/sweep
sweep: setup
	@for loss in $(SWEEP_LOSSES); do for seed in $(SWEEP_SEEDS); do \
	  out=$(SWEEP_DIR)/$$loss-seed$$seed; mkdir -p $$out; \
	  echo "== 02_dcgan loss=$$loss seed=$$seed ($(SWEEP_PROFILE) profile) -> $$out"; \
	  SYNTHLIB_RUN_DIR=$$out MPLBACKEND=agg $(VENV)/bin/papermill notebooks/02_dcgan.ipynb $$out/02_dcgan.ipynb \
	    -p profile $(SWEEP_PROFILE) -p loss $$loss -p seed $$seed --cwd notebooks --progress-bar || exit 1; \
	done; done
	@echo "== 02b_sweep_report -> $(SWEEP_DIR)/report.ipynb"
	SYNTHLIB_RUN_DIR=$(SWEEP_DIR)/report MPLBACKEND=agg $(VENV)/bin/papermill notebooks/02b_sweep_report.ipynb \
	  $(SWEEP_DIR)/report.ipynb -p root $(SWEEP_DIR) -p profile $(SWEEP_PROFILE) --cwd notebooks --progress-bar

clean:
	rm -rf build runs
