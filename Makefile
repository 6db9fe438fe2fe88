# Two commands a fresh machine needs: `make run` and `make test`.
# Each creates (once) and reuses a local virtual environment in .venv, made by $(PYTHON).
PYTHON ?= python3
MIN_PYTHON := 3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GOAL := $(or $(firstword $(MAKECMDGOALS)),venv)

.PHONY: run test lint bench venv clean

# Before anything is made: $(PYTHON) must be $(MIN_PYTHON) or newer (a .venv made by an older
# one cannot install the project, and stayed broken), and a .venv left by another
# interpreter (or half made) is rebuilt with this one. Only `-c` asks the interpreter
# anything: its "major.minor".
define prepare_venv
	@set -e; \
	version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
	  || { echo "make: cannot run '$(PYTHON)'. tui-trader needs Python $(MIN_PYTHON) or newer:" \
	            "install it, then run: make $(GOAL) PYTHON=python$(MIN_PYTHON)" >&2; exit 1; }; \
	major=$${version%%.*}; minor=$${version#*.}; \
	if [ "$$major" -lt 3 ] || { [ "$$major" -eq 3 ] && [ "$$minor" -lt 11 ]; }; then \
	  better=""; \
	  for candidate in python3.13 python3.12 python3.11; do \
	    if command -v $$candidate >/dev/null 2>&1; then better=$$candidate; break; fi; \
	  done; \
	  echo "make: $(PYTHON) is Python $$version; tui-trader needs Python $(MIN_PYTHON) or newer." >&2; \
	  if [ -n "$$better" ]; then \
	    echo "make: $$better is installed; run: make $(GOAL) PYTHON=$$better" >&2; \
	  else \
	    echo "make: install Python $(MIN_PYTHON)+ (with its venv module), then run:" \
	         "make $(GOAL) PYTHON=python$(MIN_PYTHON)" >&2; \
	  fi; \
	  exit 1; \
	fi; \
	if [ -e $(VENV) ]; then \
	  had=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null \
	         || echo "a broken interpreter"); \
	  if [ "$$had" != "$$version" ]; then \
	    echo "make: $(VENV) was made by Python $$had, not $(PYTHON) ($$version): rebuilding it"; \
	    rm -rf $(VENV); \
	  fi; \
	fi; \
	if [ ! -e $(BIN)/pip ]; then \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	    echo "make: '$(PYTHON) -m venv' failed: install Python $$version's venv module" \
	         "(e.g. apt install python$$version-venv) and run make $(GOAL) again" >&2; exit 1; }; \
	fi
endef

$(STAMP): pyproject.toml
	$(prepare_venv)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/tui-trader

test: $(STAMP)
	$(BIN)/ruff check tui_trader tests benchmarks
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py --quick

clean:
	rm -rf $(VENV)
