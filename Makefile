# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := pcscd vsmartcard-vpcd libpcsclite-dev swig chromium chromium-driver postgresql fonts-ipafont-gothic
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit integration e2e bench system-deps install clean docs-graph

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# System packages the card (PC/SC) and browser tests need; installed only where missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: install
	$(BIN)/idp demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest tests/unit -q

test: system-deps install lint
	$(BIN)/pytest -q

# Benchmarks (results land in docs/benchmarks.md); `make bench BENCH=crl` runs one.
# All of them take about 20 minutes on 2 cores; the token one needs node and npm (for
# node-oidc-provider) and wrk, installed here when missing.
BENCH ?= crl anchor token authlib login recheck
bench: install
	@command -v wrk >/dev/null && command -v npm >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk nodejs npm >/dev/null; }
	for name in $(BENCH); do $(BIN)/python -m bench $$name || exit 1; done

# docs/architecture.dot and .svg, drawn from the imports (graphviz renders the picture).
docs-graph: install
	@command -v dot >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq graphviz >/dev/null; }
	$(BIN)/python -m tools.architecture_graph

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
