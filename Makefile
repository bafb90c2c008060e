# The two commands of the README: `make demo` and `make test`. Both set up first.
SHELL := /bin/bash
export ARGUS_HOME ?= $(CURDIR)/.argus
VENV := $(CURDIR)/.venv
DEMO_DIR ?= $(CURDIR)/demo_corpus

.PHONY: setup demo test test-unit lint
setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh "$(DEMO_DIR)"

test: setup
	@$(VENV)/bin/pytest

test-unit: setup
	@$(VENV)/bin/pytest -m unit

lint:
	@$(VENV)/bin/ruff check .
