# One command to run the service, one to run the tests; both set themselves up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint install chat bench migration clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the service (SQLite under ./var, sandbox mode unless WECHAT_SECRET is set).
run: $(STAMP)
	$(PY) -m bot migrate
	$(PY) -m bot serve

## Lint, type-check, then the whole suite on SQLite and on PostgreSQL.
test: lint test-sqlite test-postgres

lint: $(STAMP)
	$(VENV)/bin/ruff check bot tests $(wildcard bench)
	$(VENV)/bin/ruff format --check bot tests $(wildcard bench)
	$(VENV)/bin/mypy

test-sqlite: $(STAMP)
	BOT_TEST_DATABASE=sqlite $(VENV)/bin/pytest -q

test-postgres: $(STAMP)
	BOT_TEST_DATABASE=postgres $(VENV)/bin/pytest -q

## Talk to the running service as a WeChat user: make chat AS=o_demo_user
chat: $(STAMP)
	$(PY) -m bot chat --as $(or $(AS),o_sandbox_user)

bench: $(STAMP)
	$(PY) bench/webhook.py

## New aerich migration for both dialects after a model change: make migration NAME=add_x
migration: $(STAMP)
	$(PY) -m bot makemigrations $(NAME)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
