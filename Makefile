# HorizonScale: every target installs what it needs first, so each works from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOSTS ?= 2000
SEED ?= 42
export PYTHONHASHSEED := 0

.PHONY: install run generate build test lint pytest bench docs dashboard clean

install: $(VENV)/.installed

# constraints.txt pins every transitive version that is known to install and pass here.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

## The main job: generate the default 2,000-host fleet and build the whole warehouse.
run: install
	$(BIN)/horizonscale run --hosts $(HOSTS) --seed $(SEED)

generate: install
	$(BIN)/horizonscale generate --hosts $(HOSTS) --seed $(SEED)

build: install
	$(BIN)/horizonscale build

## The whole test suite: lint (ruff, sqlfluff) and pytest (real DuckDB, real dbt, small fleets).
test: install lint pytest

lint: install
	$(BIN)/ruff check python_engines tests bench dashboard models
	$(BIN)/ruff format --check python_engines tests bench dashboard models
	$(BIN)/sqlfluff lint models macros tests/dbt analyses --processes 2

pytest: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench.engines

docs: install
	$(BIN)/dbt docs generate

clean:
	rm -rf target logs data reports $(VENV)
