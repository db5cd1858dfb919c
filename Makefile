# One entry point for every task. The two that matter:
#   make run    set everything up, then run the platform locally (Ctrl-C stops it all)
#   make test   set everything up, then run the checks and the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: help setup setup-system setup-browser keycloak providers run lint test test-docker bench clean

help:
	@echo "make run    installe tout puis lance la plateforme locale"
	@echo "make test   installe tout puis lance les contrôles et les tests"

# Debian packages a brand-new machine may lack: a JDK and Maven for Keycloak and our
# providers, Node.js for the DSFR assets, PostgreSQL 15's server (the store's tests run on
# SQLite and PostgreSQL). Installed only when missing.
setup-system:
	@missing=""; \
	command -v javac >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql-15"; \
	if [ -n "$$missing" ]; then \
	  echo "Installation des paquets Debian manquants :$$missing"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; \
	fi

# Debian's Chromium, driven by Playwright in the browser tests.
setup-browser:
	@command -v chromium >/dev/null || { \
	  echo "Installation de Chromium (Debian)"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 ou plus récent est requis.")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

keycloak: $(VENV)/.installed
	$(PY) -m bridge.devstack fetch

# The Java Keycloak loads in-process (SIRET validator, offline captcha, versioned CGU),
# rebuilt with its unit tests whenever a source changes.
PROVIDERS_JAR := keycloak/providers/target/demarches-keycloak-providers.jar
$(PROVIDERS_JAR): keycloak/providers/pom.xml $(shell find keycloak/providers/src -type f 2>/dev/null)
	mvn -B -q -f keycloak/providers/pom.xml verify

providers: setup-system $(PROVIDERS_JAR)

setup: setup-system $(VENV)/.installed node_modules/.installed keycloak providers

run: setup
	$(PY) -m bridge.devstack run

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The whole suite with the bridge's store in a SQLite file, then the integration and browser
# tests again with it on PostgreSQL 15, as production runs it (the store's own tests already
# run on both; the fault tests bring their own stores).
test: setup setup-browser lint
	$(PY) -m pytest $(PYTEST_ARGS)
	TEST_BRIDGE_STORE=postgresql $(PY) -m pytest tests/integration tests/browser \
		--deselect tests/integration/test_sync_faults.py $(PYTEST_ARGS)

# The benchmarks print their figures (never asserted in tests); wrk is the load generator.
bench: setup
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wrk; }
	$(PY) -m bench.habilitations
	$(PY) -m bench.delegations
	$(PY) -m bench.authorization

clean:
	rm -rf $(VENV) node_modules .cache test-artifacts .mypy_cache .ruff_cache .pytest_cache
