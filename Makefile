# Two commands for a newcomer: `make demo` (the main job) and `make test` (the test suite).
# Each creates or reuses the virtual environment in .venv and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rewardlab-installed

.PHONY: demo test test-ci-slow check bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# constraints.txt pins torch==2.13.0: this project's machines take the CPU build from their local wheel
	# folder; elsewhere the pin resolves to the CUDA build unless pip is given PyTorch's CPU index (README)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## The main job: an ablation sweep of Pendulum's reward (ground truth, each term left out, a
## reweighted term, potential shaping, a reward learned from preferences, HERON), SAC x 4 seeds,
## then the report (runs/pendulum_ablation/report/report.html) and a summary table. About 10
## minutes on 2 cores; rerunning resumes (finished trials are kept).
demo: $(STAMP)
	$(BIN)/rewardlab sweep sweeps/pendulum_ablation.toml --report

## The test suite (fast tests; training-heavy ones are marked slow).
test: $(STAMP)
	$(BIN)/python -m pytest

## The few slow tests that CI also runs, to prove training works.
test-ci-slow: $(STAMP)
	$(BIN)/python -m pytest -m "slow and ci"

## Lint, types and the import layers (pyproject.toml [tool.importlinter]); CI runs it first.
check: $(STAMP)
	$(BIN)/ruff check rewardlab envs agents tests benchmarks scripts
	$(BIN)/mypy rewardlab
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_wrappers.py
	$(BIN)/python benchmarks/bench_sweeps.py

clean:
	rm -rf $(VENV) build *.egg-info
