# Two entry points for a fresh machine: `make run` and `make test`.
# A GPU user installs their own torch into .venv first; `make` then keeps it.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN     = $(abspath $(VENV))/bin
# The SLURM executor plugin for the SLURM test only, outside .venv: once Snakemake can import
# it, it runs `scontrol` (10 s timeout) at every start on a host with SLURM clients and no
# controller. pandas and throttler are what it needs beyond .venv.
SLURM_PLUGIN = .slurm-plugin
SLURM_PACKAGES = "snakemake-executor-plugin-slurm>=2.8,<3" "snakemake-executor-plugin-slurm-jobstep>=0.6,<1" "throttler>=1.2.2,<2" "pandas>=2.3.3,<4" pytz tzdata

.PHONY: setup setup-slurm run test test-fast lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev,workflow,export,postgres,dashboard]"
	touch $@

# On a cluster's login node: the SLURM executor plugin, into .venv (README, SLURM section).
setup-slurm: setup
	$(BIN)/pip install --quiet -e ".[slurm]"

$(SLURM_PLUGIN)/.installed: | setup
	$(BIN)/pip install --quiet --no-deps --target $(SLURM_PLUGIN) $(SLURM_PACKAGES)
	touch $@

# The workflow, with the venv's tools first on PATH (rules call `paretonas`).
run: setup
	PATH="$(BIN):$$PATH" snakemake --cores 4

lint: setup
	$(BIN)/ruff check src tests benchmarks workflow/scripts
	$(BIN)/ruff format --check src tests benchmarks workflow/scripts
	PATH="$(BIN):$$PATH" $(BIN)/snakemake --lint

# Test files run side by side, one pytest-xdist worker per core (at most 4): much of the
# suite waits on subprocesses, servers and SLURM polls. A file stays on one worker, so its
# module fixtures (the end-to-end run) are made once. PYTEST_WORKERS=0 runs them in series.
PYTEST_WORKERS ?= auto
PARALLEL = -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile

# Everything (the README's test command; CI runs it with the real servers required).
test: lint $(SLURM_PLUGIN)/.installed
	PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1 \
	PARETONAS_SLURM_PLUGIN_PATH="$(CURDIR)/$(SLURM_PLUGIN)" \
	$(BIN)/python -m pytest -q $(PARALLEL) -m "not timing" --durations=40
	# tests that compare measured latencies (marker `timing`) run alone, after the others
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -q -p no:xdist -m timing

# The fast loop while developing: no workflow runs, servers or benchmarks.
test-fast: lint
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -q $(PARALLEL) -m "not slow and not timing" --durations=10
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -q -p no:xdist -m "timing and not slow"

clean:
	rm -rf $(VENV) $(SLURM_PLUGIN) results .snakemake
