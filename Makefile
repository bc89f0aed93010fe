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
	# constraints.txt pins torch to the 2.13.0 CPU build (a plain `torch` would pull a multi-GB CUDA build)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## The main job: train SAC on Pendulum with the velocity cost left out of the reward, and print
## the proxy return next to the ground-truth return (about 3 minutes on 2 cores).
demo: $(STAMP)
	$(BIN)/rewardlab train --env pendulum --reward rewards/pendulum_no_velocity.toml --agent sac --seed 0 --timesteps 20000 --eval-freq 5000 --group demo

## The test suite (fast tests; training-heavy ones are marked slow).
test: $(STAMP)
	$(BIN)/python -m pytest

## The few slow tests that CI also runs, to prove training works.
test-ci-slow: $(STAMP)
	$(BIN)/python -m pytest -m "slow and ci"

check: $(STAMP)
	$(BIN)/ruff check rewardlab envs agents tests benchmarks
	$(BIN)/mypy rewardlab

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_wrappers.py

clean:
	rm -rf $(VENV) build *.egg-info
