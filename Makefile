# Two entry points for a fresh machine: `make run` and `make test`.
# A GPU user installs their own torch into .venv first; `make` then keeps it.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN     = $(VENV)/bin

.PHONY: setup run test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev,workflow,export,postgres,slurm]"
	touch $@

# The workflow, with the venv's tools first on PATH (rules call `paretonas`).
run: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" snakemake --cores 4

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --lint
	PATH="$(CURDIR)/$(BIN):$$PATH" DVC_NO_ANALYTICS=1 $(BIN)/python -m pytest -q --durations=15

clean:
	rm -rf $(VENV) results .snakemake
