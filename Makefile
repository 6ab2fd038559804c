# One entry point for setting up, running and testing photonic-dse.
# `make quickstart` and `make test` each create the virtual environment first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install quickstart test lint browser clean

install: $(STAMP)

# torch is pinned to the CPU wheel in pyproject.toml, so this never pulls a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

quickstart: install
	$(BIN)/dse search search_spaces/quickstart.yaml --name quickstart-$$(date +%Y%m%d-%H%M%S)

lint: install
	$(BIN)/ruff check dse evaluators tests benchmarks
	$(BIN)/ruff format --check dse evaluators tests benchmarks
	$(BIN)/mypy

# The browser test drives Debian's Chromium; install it when we can (root with apt-get), else
# that one test skips and says why.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver >/dev/null) || echo "Chromium could not be installed"; \
	  else echo "Chromium missing and not installable here: the browser test will skip"; fi; \
	fi

# Two pytest workers, whole test files each (a module's fixtures run once): run one test at a
# time, the suite's searches keep about one of two cores busy (they wait on process starts, Ray
# and sleeps); benchmarks/RESULTS.md has both timings.
test: lint browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) runs/mlflow.db runs/artifacts runs/searches runs/cache
