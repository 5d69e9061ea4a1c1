# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# PostgreSQL and Redis: the servers at DATABASE_URL and CELERY_BROKER_URL when given (CI: the
# machine's), else the embedded ones (var/postgres, var/redis), started and stopped by
# trialsite.local_services around the command.
WITH_SERVICES := $(PY) -m trialsite.local_services --

.PHONY: schema demo test lint bench faults install clean prerequisites screenshots _test

$(BIN)/activate:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: $(PYTHON) was not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

# axe-core, which the accessibility tests inject into pages: the version package-lock.json
# pins, from the npm registry, with `npm ci` (nothing is fetched at test time). Without npm
# (Node 20) it says so and goes on: only tests/test_accessibility.py needs it.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm was not found: axe-core is not installed (install Node 20 and npm for tests/test_accessibility.py)"; fi

# Translations: the .po files are the source; the .mo files are compiled here, every time.
install: $(VENV)/.installed node_modules/.package-lock.json
	@$(PY) scripts/compile_translations.py

demo: install
	$(PY) scripts/demo.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The REST API's OpenAPI schema, committed (docs/api.md): tests/test_api_schema.py fails when
# it and the code disagree, and names this target.
schema: install
	DEBUG=true ENV_FILE= $(BIN)/python manage.py spectacular --validate --fail-on-warn --file docs/api/openapi.yaml

# System packages the suite needs (Chromium, docker-compose): installed as root, else one line.
prerequisites:
	@bash scripts/test_prerequisites.sh

test: install prerequisites lint
	$(WITH_SERVICES) $(MAKE) --no-print-directory _test

# The steps of `make test` once its services run (call `make test`, not this).
_test:
	$(PY) -m tests.preflight
	DEBUG=true $(PY) manage.py check --fail-level WARNING
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') ALLOWED_HOSTS=trialsite.example \
		SITE_URL=https://trialsite.example DATABASE_URL=$${DATABASE_URL:-postgres://postgres@db.example/trialsite} \
		$(PY) manage.py check --deploy --fail-level WARNING
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# The fault suite alone, long form: every scenario of tests/faults on the real stack (workers,
# beat, a misbehaving SMTP server, Redis and PostgreSQL restarts), then its table of figures,
# also in var/faults.json. `make test` runs the same scenarios with small counts.
faults: install
	FAULTS=long $(WITH_SERVICES) $(BIN)/pytest tests/faults $(PYTEST_ARGS)

# PNGs of the dashboard, a participant page and the calendar (and the audit trail once it is
# merged) at 1400 and 390 px, in English and German, in var/screenshots/ (scripts/screenshots.py).
screenshots: install
	$(WITH_SERVICES) $(PY) scripts/screenshots.py

bench: install
	DEBUG=true $(WITH_SERVICES) $(PY) benchmarks/run.py

# Stops the embedded servers first if they run (a demo killed with SIGKILL leaves them).
clean:
	@if [ -x $(PY) ] && [ -d var/postgres/data ]; then $(PY) -c 'from trialsite.embedded_postgres import EmbeddedPostgres; EmbeddedPostgres("var").stop()'; fi
	@if [ -x $(PY) ] && [ -S var/redis/redis.sock ]; then $(PY) -c 'from pathlib import Path; from trialsite.embedded_redis import stop; stop(Path("var/redis/redis.sock"))'; fi
	rm -rf var .pytest_cache .ruff_cache
