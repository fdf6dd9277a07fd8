# One entry point per thing a user does. Every target sets itself up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export OMNI_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(OMNI_DATA_DIR)/dagster_home
export DBT_PROFILES_DIR ?= $(CURDIR)/dbt_project

.PHONY: setup run test lint validate dev bench clean

# The virtual environment is rebuilt whenever pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned dependencies into $(VENV) (about a minute the first time)..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/.installed
	@mkdir -p $(DAGSTER_HOME)

run: setup
	@$(BIN)/omni run --generate-if-missing

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && ../$(BIN)/sqlfluff lint models macros tests

# Every Dagster definition must load from a fresh clone (dbt manifest parsed on the way).
validate: setup
	$(BIN)/dagster definitions validate -w workspace.yaml

# Two pytest-xdist workers: idle, 450 s against 857 s in one process (tests/README.md).
test: lint validate
	$(BIN)/pytest -n 2

dev: setup
	@# DAGSTER_HOME/dagster.yaml with a run queue of one: DuckDB has a single writer.
	@$(BIN)/omni instance >/dev/null
	$(BIN)/dagster dev -w workspace.yaml

bench: setup
	$(BIN)/omni bench --customers 10000 --days 90

clean:
	rm -rf $(OMNI_DATA_DIR) dbt_project/target dbt_project/logs
