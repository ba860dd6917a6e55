# The two commands a user needs: `make demo` and `make test`. Both create .venv when missing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint unit install sandbox-tool clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
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

unit: install sandbox-tool
	$(BIN)/python -m pytest -q

test: lint unit

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
