# The two commands of the README's quick start, and the ones documented after them.
# Every target first makes sure the local virtual environment .venv is installed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: book test test-fast lint benchmark

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt -e .
	touch $@

## The main job: build the course book website into _build/html.
book: $(VENV)/.installed
	$(PY) scripts/build_book.py

## The full test suite (what CI runs).
test: $(VENV)/.installed
	bash scripts/system_deps.sh
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

## The inner loop: the suite without the slow, browser and PostgreSQL tests (markers in
## pyproject.toml); `make test` still runs every test.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow and not browser and not postgres"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

benchmark: $(VENV)/.installed
	$(PY) benchmarks/bench_layers.py
	$(PY) benchmarks/bench_names.py
	$(PY) benchmarks/bench_autograde.py --students 10
