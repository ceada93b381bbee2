# Two commands do everything on a fresh machine with Python 3.10+:
#   make sweep   set up .venv if needed, run the default sweep, write plots and a report
#   make test    set up .venv if needed, run the tests
# TORCH picks the torch build installed first (before the project, so pip keeps it);
# TORCH_INDEX, if set, is passed to pip as --index-url for that one install (e.g. PyTorch's
# CPU-only wheel index, to keep a CPU machine off the multi-GB CUDA build).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.jacbench-installed

.PHONY: setup sweep test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev,jax,cluster]"
	@touch $@

sweep: setup
	$(BIN)/python -m jacbench sweep $(ARGS)

test: setup
	$(BIN)/python -m pytest $(ARGS)

bench: setup
	$(BIN)/python -m pytest --benchmark-only $(ARGS)

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .benchmarks
