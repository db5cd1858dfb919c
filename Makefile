# One entry point for every task. The two that matter:
#   make run    set everything up, then run the platform locally (Ctrl-C stops it all)
#   make test   set everything up, then run the checks and the whole test suite
#               (the main suite needs no Docker; its Docker part installs and starts an engine)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: help setup setup-system setup-browser setup-docker docker-images keycloak providers run lint test test-main test-docker bench clean

help:
	@echo "make run    installe tout puis lance la plateforme locale"
	@echo "make test   installe tout puis lance les contrôles et les tests"

# Debian packages a brand-new machine may lack: python3-venv (Debian ships `ensurepip`, which
# `python -m venv` needs, apart), a JDK and Maven for Keycloak and our providers, Node.js for
# the DSFR assets, PostgreSQL 15's server (the store's tests run on SQLite and PostgreSQL),
# Prometheus for promtool (the alerting rules' tests). Installed only when missing.
setup-system:
	@missing=""; \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v javac >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql-15"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
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
	$(VENV)/bin/lint-imports --no-cache

# The main suite (local Keycloak distribution, the bridge's store in a SQLite file; no
# Docker), then the Docker part.
test: test-main test-docker

test-main: setup setup-browser lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The Docker part, timed from the engine's setup and the images: the integration tests again on testcontainers' Keycloak with the
# store on PostgreSQL (the fault tests bring their own servers; the lifecycle, backup/restore and
# local-stack restart tests start local distributions: all ran above), then the tests of docker-compose.yml and its
# cluster profile (`-m docker`). Without Docker, `TEST_BRIDGE_STORE=postgresql make test-main`
# runs the store on Debian's PostgreSQL 15 instead. The Docker tests run even when the
# container pass failed, and each says its code: one red step does not hide the next.
test-docker: setup setup-browser
	@started=$$(date +%s); engine=0; containers=0; docker=0; \
	$(MAKE) --no-print-directory setup-docker docker-images || engine=$$?; \
	if [ $$engine -eq 0 ]; then \
	  TEST_KEYCLOAK_BACKEND=container $(PY) -m pytest tests/integration \
	    --deselect tests/integration/test_sync_faults.py \
	    --deselect tests/integration/test_keycloak_lifecycle.py \
	    --deselect tests/integration/test_backup_restore.py \
	    --deselect tests/integration/test_devstack_restart.py $(PYTEST_ARGS) || containers=$$?; \
	  $(PY) -m pytest -m docker tests/docker -s $(PYTEST_ARGS) || docker=$$?; \
	  echo "Passe conteneurs : code $$containers"; \
	  echo "Tests Docker : code $$docker"; \
	else \
	  echo "Moteur Docker ou images : code $$engine (passe conteneurs et tests Docker non lancés)"; \
	fi; \
	status=$$engine; \
	[ $$status -ne 0 ] || status=$$containers; \
	[ $$status -ne 0 ] || status=$$docker; \
	echo "Partie Docker : $$(( $$(date +%s) - started )) s (code $$status)"; \
	exit $$status

# A Docker engine: Debian's docker.io and docker-compose (and debootstrap, for the local
# stand-ins of the official images), dockerd started when no engine answers.
setup-docker:
	@missing=""; \
	command -v dockerd >/dev/null || missing="$$missing docker.io"; \
	command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 \
	  || missing="$$missing docker-compose"; \
	command -v debootstrap >/dev/null || missing="$$missing debootstrap"; \
	if [ -n "$$missing" ]; then \
	  echo "Installation des paquets Debian manquants :$$missing"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; \
	fi
	@docker version >/dev/null 2>&1 || { \
	  echo "Démarrage du moteur Docker (journal : /var/log/dockerd.log)"; \
	  $(SUDO) sh -c 'nohup dockerd >>/var/log/dockerd.log 2>&1 &'; \
	  for i in $$(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 1; done; \
	  docker version >/dev/null 2>&1 || { echo "Le moteur Docker ne démarre pas : voir /var/log/dockerd.log." >&2; exit 1; }; }

# The images the compose file and the testcontainers path name: kept when present (pulled
# or built before), else built here from Debian's packages (tests/docker/README.md).
docker-images: $(VENV)/.installed setup-docker
	$(PY) -m tests.support.docker_engine

# The benchmarks print their figures (never asserted in tests); wrk is the load generator.
bench: setup
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wrk; }
	$(PY) -m bench.habilitations
	$(PY) -m bench.delegations
	$(PY) -m bench.authorization
	$(PY) -m bench.verifications

clean:
	rm -rf $(VENV) node_modules .cache test-artifacts .mypy_cache .ruff_cache .pytest_cache
