# dispatch: two commands for a newcomer, `make demo` and `make test`; between changes,
# `make test-fast` (the suite without the system tests, on every core: under 2 minutes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MIN    := .venv-min

.PHONY: demo test test-fast test-min lint typecheck fuzz bench bench-full sysdeps venv clean docs

# The virtualenv is rebuilt only when pyproject.toml or the dev tools' pins change.
# constraints-dev.txt pins the dev tools (ruff, mypy, pytest...): a new release of a
# linter does not turn a green tree red overnight.
$(STAMP): pyproject.toml constraints-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints-dev.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# System packages (fonts for the PDF, poppler-utils): apt-get runs only when one is missing.
sysdeps:
	@bash scripts/system-deps.sh

# The main job on the bundled sample: every letter of every sample mailing, into out/.
demo: venv sysdeps
	@for m in mailings/*/; do \
	  contacts="--contacts contacts.xlsx"; \
	  if [ -f "$$m/contacts.xlsx" ]; then contacts=""; fi; \
	  $(BIN)/dispatch render "$$m" $$contacts --out "out/$$(basename $$m)" \
	    --format html,txt,eml,pdf,ics || exit $$?; \
	done

lint: venv
	$(BIN)/ruff check dispatch tests scripts benchmarks
	$(BIN)/ruff format --check dispatch tests scripts benchmarks
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

# Every test, in two steps: the suite on every core (pytest-xdist), then the system tests
# one at a time (marked system, see pyproject.toml: real Postfix and Dovecot, chromium, a
# wheel build, crash recovery in subprocesses), which start servers and browsers of their own.
# Both run every docstring example of dispatch/ too (pytest --doctest-modules).
test: venv sysdeps lint typecheck
	$(BIN)/pytest -q -n auto -m "not system"
	$(BIN)/pytest -q -m system

# The loop between changes, on every core: the suite without the system tests and without
# the tests that render every bundled sample (marked heavy).
test-fast: venv
	$(BIN)/pytest -q -n auto -m "not system and not heavy"

# The suite against every dependency at the lower bound pyproject.toml declares
# (scripts/min_constraints.py writes the pins), in a virtualenv of its own.
test-min: sysdeps
	test -x $(MIN)/bin/python || $(PYTHON) -m venv $(MIN)
	$(MIN)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) scripts/min_constraints.py > $(MIN)/constraints.txt
	$(MIN)/bin/python -m pip install --quiet -c $(MIN)/constraints.txt -e '.[dev]'
	$(MIN)/bin/pytest -q -p no:randomly -n auto -m "not system"
	$(MIN)/bin/pytest -q -p no:randomly -m system

# The API reference (what `import dispatch` offers: dispatch/__init__.py's __all__), built
# from the docstrings by pdoc into docs/api/ (open docs/api/index.html). The mailing file's
# fields are described in docs/fields.md.
docs: venv
	rm -rf docs/api
	$(BIN)/pdoc --docformat restructuredtext -o docs/api dispatch

fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/test_hostile_input.py tests/test_fault_property.py

# About 15 minutes on 2 cores (sizes in benchmarks/harness.py); bench-full runs the
# sizes the benchmark issues name (10 000 everywhere, 100 000 for scale, 10 000 personal
# PDFs with --jobs 1 and 2): several hours.
bench: venv sysdeps
	$(BIN)/python -m benchmarks

bench-full: venv sysdeps
	$(BIN)/python -m benchmarks --n 10000 --send-n 10000 --scale-n 100000 --personal-n 10000 \
	  --personal-repeat 1 --budget-minutes 360

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache $(MIN)

# The MTA tests alone (tests marked mta): a real Postfix relay and a real Dovecot IMAP
# server, each its own instance on 127.0.0.1 from a temporary folder (about 25 s, as root).
# `make test` runs them too, in its step of system tests.
.PHONY: test-mta
test-mta: venv sysdeps
	$(BIN)/pytest -q -m mta
