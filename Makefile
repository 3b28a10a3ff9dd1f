# HorizonScale: every target installs what it needs first, so each works from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOSTS ?= 2000
SEED ?= 42
export PYTHONHASHSEED := 0

.PHONY: install run generate build test lint pytest browser bench bench-scale trust docs dashboard screenshots clean

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
test: install browser lint pytest

# Debian's Chromium for the real-browser dashboard test (installed when we may). Without it the test skips, saying
# why; in CI (HORIZONSCALE_CI=1, set by .ci/run) this target fails instead, and so would the test.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && apt-get install -y -qq chromium fonts-liberation >/dev/null; } || \
		{ echo "chromium not installed (make browser as root installs it)"; \
		  [ -z "$$HORIZONSCALE_CI" ] && echo "the browser test will be skipped" || \
		  { echo "HORIZONSCALE_CI is set: the browser test must run" >&2; exit 1; }; }

lint: install
	$(BIN)/ruff check python_engines tests bench dashboard models
	$(BIN)/ruff format --check python_engines tests bench dashboard models
	$(BIN)/sqlfluff lint models macros tests/dbt analyses --processes 2

pytest: install
	$(BIN)/pytest

BENCH_DIR ?= /tmp/horizonscale_bench

## Benchmarks (bench/README.md): the whole warehouse on the default fleet, then the engines side by side.
bench: install
	$(BIN)/python -m bench.bench_warehouse --data-dir $(BENCH_DIR) --engines
	$(BIN)/python -m bench.engines --data-dir $(BENCH_DIR)

SCALE_HOSTS ?= 500 2000
SCALE_ARGS ?=

## The cost curve (bench/README.md): generate + every build stage at SCALE_HOSTS hosts, each in a fresh data dir,
## wall time and peak memory per stage and the slope per 1,000 hosts. SCALE_ARGS="--with-8000 --with-20000" adds
## the big fleets (opt-in: hours on 2 cores).
bench-scale: install
	$(BIN)/python -m bench.scale --hosts $(SCALE_HOSTS) --root $(BENCH_DIR)/scale $(SCALE_ARGS)

TRUST_ARGS ?=

## Trust on fleets we did not generate (bench/README.md): stress fleets (seeds 11, 12, 13; 400 hosts) against their
## future and the default fleet (2,000 hosts) against its backtest and planted breaches, HorizonScale vs stock Prophet
## and the seasonal naive; tables in bench/results/trust_*.md. E.g. make trust TRUST_ARGS="--skip-build".
trust: install
	$(BIN)/python -m bench.trust $(TRUST_ARGS)

DASHBOARD_ADDRESS ?= 127.0.0.1
DASHBOARD_PORT ?= 8501

## Executive dashboard over the published serving copy: http://127.0.0.1:8501 (localhost only by default).
dashboard: install
	$(BIN)/streamlit run dashboard/app.py --server.address $(DASHBOARD_ADDRESS) --server.port $(DASHBOARD_PORT) \
		--server.headless true

## Dashboard load times in headless Chromium and fresh docs/screenshots (needs the Debian chromium package).
screenshots: install browser
	$(BIN)/python -m dashboard.screenshots --out docs/screenshots

docs: install
	$(BIN)/dbt docs generate

clean:
	rm -rf target logs data reports $(VENV) .venv-duckdb1
