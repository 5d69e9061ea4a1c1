# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Tests run on real PostgreSQL and Redis (this machine kind starts both on 127.0.0.1).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/trialsite
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14

.PHONY: demo test lint bench faults install clean prerequisites

$(BIN)/activate:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: $(PYTHON) was not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

# Translations: the .po files are the source; the .mo files are compiled here, every time.
install: $(VENV)/.installed
	@$(PY) scripts/compile_translations.py

demo: install
	$(PY) scripts/demo.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# System packages the suite needs (Chromium, docker-compose): installed as root, else one line.
prerequisites:
	@bash scripts/test_prerequisites.sh

test: install prerequisites lint
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m tests.preflight
	DEBUG=true $(PY) manage.py check --fail-level WARNING
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') ALLOWED_HOSTS=trialsite.example \
		$(PY) manage.py check --deploy --fail-level WARNING
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest $(PYTEST_ARGS)

# The fault suite alone, long form: every scenario of tests/faults on the real stack (workers,
# beat, a misbehaving SMTP server, Redis and PostgreSQL restarts), then its table of figures,
# also in var/faults.json. `make test` runs the same scenarios with small counts.
faults: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m tests.preflight
	FAULTS=long DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest tests/faults $(PYTEST_ARGS)

bench: install
	DEBUG=true DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) benchmarks/run.py

clean:
	rm -rf var .pytest_cache .ruff_cache
