# Two commands for a newcomer: `make demo` and `make test`. Both need only Python 3.10+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint docs pytest pytest-sqlite pytest-postgres wheel-check tox bench-sync bench-prune bench-receiver clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## make demo: set up and run the example site on http://127.0.0.1:8000 (SQLite, offline);
## `make demo PORT=8001` serves on another port. The site reads the port as DEMO_PORT: the fake
## Thinkific API it mounts on itself, and the printed curl, are addressed there too. migrate
## skips the checks: demo_admin judges the port first (a bad one also makes the fake API's URL
## fail E005), then runs them, so a bad PORT is one line about the port.
PORT ?= 8000
demo: $(STAMP)
	@test -f .env || $(BIN)/python example_project/make_env.py > .env
	DEMO_PORT=$(PORT) $(BIN)/python manage.py migrate --noinput --skip-checks
	DEMO_PORT=$(PORT) $(BIN)/python manage.py demo_admin
	DEMO_PORT=$(PORT) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## make test: ruff and mypy, the docs site, then the whole suite on SQLite and on a throwaway PostgreSQL cluster
test: lint docs pytest

## make lint: ruff, then mypy over django_thinkific/ (settings in pyproject.toml's [tool.mypy])
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make docs: build the documentation site (docs/, mkdocs.yml) into site/; any broken link fails it
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

pytest: pytest-sqlite pytest-postgres

pytest-sqlite: $(STAMP)
	$(BIN)/python -m pytest --database=sqlite

pytest-postgres: $(STAMP)
	$(BIN)/python -m pytest --database=postgres

## make wheel-check: build the wheel, install it in a fresh venv, check/migrate the example site
wheel-check: $(STAMP)
	bash scripts/check_wheel.sh $(BIN)/python

## make tox: Python 3.10-3.13 with Django 4.2, 5.2 and 6.x (tox.ini; interpreters on PATH or in pyenv)
tox: $(STAMP)
	$(BIN)/python -m pip install --quiet tox
	PATH="$$(ls -d $$(pyenv root 2>/dev/null || echo /nonexistent)/versions/3.1[0-9]*/bin 2>/dev/null | paste -sd: -):$$PATH" \
		$(BIN)/tox $(TOXARGS)

## make bench-sync: time thinkific_sync of 10,000 webhooks served by the fake API (see bench/README.md)
bench-sync: $(STAMP)
	$(BIN)/python -m bench.sync_bench

## make bench-prune: prune 1,000,000 expired events on PostgreSQL under load (see bench/README.md)
bench-prune: $(STAMP)
	$(BIN)/python -m bench.prune_bench

## make bench-receiver: receiver vs a bare-INSERT floor under gunicorn on PostgreSQL (bench/README.md)
bench-receiver: $(STAMP)
	$(BIN)/python -m bench.receiver_bench

clean:
	rm -rf $(VENV) .tox build dist site *.egg-info .pytest_cache .ruff_cache .mypy_cache
