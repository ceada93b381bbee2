# Two commands do everything on a fresh machine with Python 3.10+:
#   make sweep   set up .venv if needed, run the default sweep, write plots and a report
#   make test    set up .venv if needed, run the tests
# TORCH picks the torch build installed first (before the project, so pip keeps it);
# TORCH_INDEX, if set, is passed to pip as --index-url for that one install (e.g. PyTorch's
# CPU-only wheel index, to keep a CPU machine off the multi-GB CUDA build).
# CUDA: on a machine where `nvidia-smi` sees a GPU, the extras become a CUDA-enabled JAX for the
# driver's CUDA major version (12 or 13) and `gpu` (NVML clocks and temperature); CUDA=12 or
# CUDA=13 forces one, CUDA=none the CPU set.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
ARGS ?=
CUDA ?= $(shell nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\).*/\1/p' | head -n 1)
comma := ,
EXTRAS := dev,cluster,$(if $(filter 12 13,$(CUDA)),jax-cuda$(CUDA)$(comma)gpu,jax)
BIN := $(VENV)/bin
STAMP := $(VENV)/.jacbench-installed

.PHONY: setup sweep test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
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
