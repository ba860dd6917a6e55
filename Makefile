# The two commands a user needs: `make demo` and `make test` (plus `make docs` for the site).
# Each creates .venv when missing and installs only what it needs: the demo mlbot alone, the
# tests mlbot with its dev tools, the docs MkDocs with the Material theme.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SAY := @printf '\033[1m==> %s\033[0m\n'

.PHONY: demo test lint unit install docs docs-serve clean

$(BIN)/python:
	$(SAY) "creating $(VENV), a virtual environment for mlbot"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip

# One stamp per set of extras, so `make demo` never installs the dev tools.
$(VENV)/.installed-runtime: pyproject.toml setup.py | $(BIN)/python
	$(SAY) "installing mlbot and what it runs on (MLflow, scikit-learn, pandas, FastAPI and their dependencies) into $(VENV)"
	$(SAY) "the first time this downloads them and takes a few minutes (pip is quiet meanwhile); later runs take seconds"
	@$(BIN)/python -m pip install -q --progress-bar off -e .
	@touch $@
	$(SAY) "installed: $$($(BIN)/mlbot --version)"

$(VENV)/.installed-dev: pyproject.toml setup.py | $(BIN)/python
	$(SAY) "installing mlbot with its dev tools (pytest, ruff, mypy, import-linter, build) into $(VENV)"
	@$(BIN)/python -m pip install -q --progress-bar off -e '.[dev]'
	@touch $@

$(VENV)/.installed-docs: pyproject.toml setup.py | $(BIN)/python
	$(SAY) "installing MkDocs and the Material theme into $(VENV)"
	@$(BIN)/python -m pip install -q --progress-bar off -e '.[docs]'
	@touch $@

install: $(VENV)/.installed-dev

demo: $(VENV)/.installed-runtime
	$(SAY) "starting the demo: a local GitHub stand-in, the bot and MLflow, all on 127.0.0.1"
	@$(BIN)/mlbot demo

lint: install
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install
	$(BIN)/python -m pytest -q

test: lint unit

# The documentation site (docs/ + mkdocs.yml) into site/; --strict fails on a broken link.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) site .cache .pytest_cache .mypy_cache .ruff_cache
