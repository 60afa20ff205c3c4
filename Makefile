# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
FLASK := $(BIN)/flask --app wsgi
ADMIN_EMAIL ?= admin@example.org
# The demo's footer address and donation page; set your own in the environment or .env.
DEMO_ENV := CRM_ORG_POSTAL_ADDRESS="$${CRM_ORG_POSTAL_ADDRESS:-123 Demo Street, Madison, WI 53703}" \
	CRM_DONATE_URL="$${CRM_DONATE_URL:-https://secure.actblue.com/donate/demo-progress}" \
	CRM_CAMPAIGN_REPLY_TO="$${CRM_CAMPAIGN_REPLY_TO:-office@example.org}"
PYTEST_ARGS ?=
# Test processes (pytest-xdist); the tests marked serial, and the browser tests, share one.
PYTEST_WORKERS ?= 2

.PHONY: install run test lint bench worker clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(FLASK) db upgrade heads
	$(FLASK) crm ensure-admin $(ADMIN_EMAIL)
	$(FLASK) crm demo --if-empty
	$(FLASK) campaigns demo
	$(DEMO_ENV) $(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

worker: install
	$(BIN)/celery -A wsgi.celery worker --loglevel INFO

bench: install
	$(BIN)/python benchmarks/contact_list_1m.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
