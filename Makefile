# Two commands for a newcomer: `make serve` (run) and `make test` (install + whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench bench-load bench-season respond install clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/emergency serve

respond: $(STAMP)
	$(BIN)/emergency respond --forecast examples/forecast-orange.json

lint: $(STAMP)
	$(BIN)/ruff check emergency api tests bench
	$(BIN)/ruff format --check emergency api tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/bench_optimiser.py

bench-load: $(STAMP)
	$(BIN)/python bench/bench_load.py

bench-season: $(STAMP)
	$(BIN)/python bench/bench_season.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
