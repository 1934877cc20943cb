# The two commands of the README's quick start, and the ones documented after them.
# Every target first makes sure the local virtual environment .venv is installed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: book publish test test-fast lint benchmark

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt -e .
	touch $@

# The book's edition: open (self-study) or term (a graded term: no answers on the site).
EDITION ?= open

## The main job: build the course book website into _build/html
## (EDITION=term: the graded-term edition, into _build/term/_build/html).
book: $(VENV)/.installed
	$(PY) scripts/build_book.py --edition $(EDITION)

## The book built and copied into DEST, ready for any static host (GitHub Pages: .nojekyll).
publish: $(VENV)/.installed
	@test -n "$(DEST)" || { echo "make publish needs DEST=folder (empty, or published before)"; exit 2; }
	$(PY) scripts/build_book.py --edition $(EDITION) --publish "$(DEST)"

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
