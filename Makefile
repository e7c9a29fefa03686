# Hostdeck. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# make bench drops and refills this database.
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/hostdeck_bench
# And bench/fanout.py this one, before each of its runs.
FANOUT_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/hostdeck_fanout
export FLASK_APP := wsgi

.PHONY: run worker test test-deps lint bench clean messages

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# The pages' translations (portal/translations/<lang>/LC_MESSAGES): the .po files are kept, the .mo built.
POS := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MOS := $(POS:.po=.mo)

%.mo: %.po $(VENV)/.runtime
	$(BIN)/pybabel -q compile -f -i $< -o $@

# Extract every string of the code and pages, merge it into each language, and compile.
messages: $(VENV)/.runtime
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output \
		--ignore-dirs ".* __pycache__" --project Hostdeck -o portal/translations/messages.pot portal
	$(BIN)/pybabel -q update --no-fuzzy-matching -i portal/translations/messages.pot -d portal/translations
	$(MAKE) $(MOS)

run: $(VENV)/.runtime $(MOS)
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed
	@echo "Hostdeck demo on http://127.0.0.1:$(PORT)/"
	USAGE_IN_PROCESS=true USAGE_INTERVAL=60 $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

worker: $(VENV)/.runtime
	$(BIN)/flask worker

test-deps:
	bash scripts/install-test-deps.sh

# The browser tests' npm packages (axe-core): installed when missing or older than package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: $(VENV)/.dev test-deps node_modules/.package-lock.json $(MOS)
	$(BIN)/pytest

# The same checks as .pre-commit-config.yaml.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

bench: $(VENV)/.dev test-deps
	$(BIN)/python -m bench.orchestration
	$(BIN)/python -m bench.usage
	$(BIN)/python -m bench.seed $(BENCH_DATABASE_URL)
	$(BIN)/python -m bench.pages $(BENCH_DATABASE_URL)
	$(BIN)/python -m bench.api $(BENCH_DATABASE_URL)
	$(BIN)/python -m bench.fanout $(FANOUT_DATABASE_URL)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
