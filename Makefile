# The two commands a user needs: `make demo` and `make test` (plus `make docs` for the site).
# Each creates .venv when missing and installs only what it needs: the demo mlbot alone, the
# tests mlbot with its dev tools, the docs MkDocs with the Material theme.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SAY := @printf '\033[1m==> %s\033[0m\n'

.PHONY: demo test lint unit install docs docs-serve sandbox-tool clean

$(BIN)/python:
	$(SAY) "creating $(VENV), a virtual environment for mlbot"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip

# One stamp per set of extras, so `make demo` never installs the dev tools.
$(VENV)/.installed-runtime: pyproject.toml setup.py constraints/service.txt | $(BIN)/python
	$(SAY) "installing mlbot and what it runs on (MLflow, scikit-learn, pandas, FastAPI and their dependencies) into $(VENV)"
	$(SAY) "the first time this downloads them and takes a few minutes (pip is quiet meanwhile); later runs take seconds"
	@$(BIN)/python -m pip install -q --progress-bar off -c constraints/service.txt -e .
	@touch $@
	$(SAY) "installed: $$($(BIN)/mlbot --version)"

$(VENV)/.installed-dev: pyproject.toml setup.py constraints/service.txt | $(BIN)/python
	$(SAY) "installing mlbot with its dev tools (pytest, ruff, mypy, import-linter, build) into $(VENV)"
	@$(BIN)/python -m pip install -q --progress-bar off -c constraints/service.txt -e '.[dev]'
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

# bubblewrap: the local runner's sandbox for a pull request's fit (docs/security.md). Installed with apt
# when we are root; otherwise one line says how, and the sandbox tests skip (under CI=true they fail).
sandbox-tool:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (the local runner's sandbox)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null; }; \
	  else \
	    echo "bubblewrap is missing: the local runner will refuse to fit pull requests; install it with" \
	         "'sudo apt-get install bubblewrap' (Debian/Ubuntu) or 'sudo dnf install bubblewrap' (Fedora)"; \
	  fi; }

# The fast subset: everything but the end-to-end suites marked slow (flows, demo, packaging).
unit: install sandbox-tool
	$(BIN)/python -m pytest -q -m "not slow"

# Everything CI runs.
test: lint install sandbox-tool
	$(BIN)/python -m pytest -q

# The documentation site (docs/ + mkdocs.yml) into site/; --strict fails on a broken link.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) site .cache .pytest_cache .mypy_cache .ruff_cache
