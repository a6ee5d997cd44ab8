# The two commands of the quick start: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test lint bench clean

$(BIN)/frontdesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/frontdesk
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	scripts/install-chromium
	touch $@

serve: $(BIN)/frontdesk
	$(BIN)/frontdesk serve

test: $(VENV)/.test-deps lint
	$(BIN)/pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(BIN)/frontdesk
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) data
