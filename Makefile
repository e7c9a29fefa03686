# Hostdeck. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# make bench drops and refills this database.
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/hostdeck_bench
export FLASK_APP := wsgi

.PHONY: run worker test test-deps lint bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed
	@echo "Hostdeck demo on http://127.0.0.1:$(PORT)/"
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

worker: $(VENV)/.runtime
	$(BIN)/flask worker

test-deps:
	bash scripts/install-test-deps.sh

test: $(VENV)/.dev test-deps
	$(BIN)/pytest

# The same checks as .pre-commit-config.yaml.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

bench: $(VENV)/.dev test-deps
	$(BIN)/python -m bench.orchestration
	$(BIN)/python -m bench.seed $(BENCH_DATABASE_URL)
	$(BIN)/python -m bench.pages $(BENCH_DATABASE_URL)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
