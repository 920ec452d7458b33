# Shared make settings. Every target that needs Python depends on $(VENV_STAMP),
# so `make test` and `make run` work on a fresh clone with nothing done first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
VENV_BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
# The environment files are evaluated in every recipe that needs settings; values
# already exported by the caller win (see environment.py).
WITH_ENV := source ./environment >/dev/null &&

$(VENV_STAMP): requirements.txt requirements.dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version' \
		|| { echo "error: $(PYTHON) is older than 3.11; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV_BIN)/pip install -q pip==26.2.1  # chalice 1.34 requires pip<26.3
	$(VENV_BIN)/pip install -q -r requirements.dev.txt
	$(VENV_BIN)/pip install -q --no-deps -e .
	touch $@
