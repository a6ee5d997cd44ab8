# The two commands of the quick start: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test test-fast lint bench clean screenshots

$(BIN)/frontdesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/frontdesk
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	scripts/install-chromium
	scripts/install-swaks
	scripts/install-dovecot
	touch $@

serve: $(BIN)/frontdesk
	$(BIN)/frontdesk serve

# The whole suite, spread over the machine's cores (pytest-xdist): no test depends on another's
# order or on the wall clock.
test: $(VENV)/.test-deps lint
	$(BIN)/pytest -n auto

# The quick check while working: every test but the slow ones (the crash tests among them) and
# the browser ones, spread over the machine's cores (pytest-xdist), without lint. `make test`
# runs them all, after lint.
test-fast: $(VENV)/.test-deps
	$(BIN)/pytest -n auto -m "not slow and not browser"

# The pictures in docs/ are what the browser tests see.
screenshots: $(VENV)/.test-deps
	mkdir -p docs/screenshots
	FRONTDESK_TEST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/test_inbox_browser.py tests/test_report_browser.py

lint: $(VENV)/.test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(BIN)/frontdesk
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) data
