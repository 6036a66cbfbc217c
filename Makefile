# exporterhub — the single entry point for developers and CI.
# `make demo` runs every exporter against its simulator; `make test` runs every check.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Parallel pytest workers (pytest-xdist); each module stays on one worker.
WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv install requirements requirements-dev fmt format lint typecheck \
        test cov coverage check demo bench metrics-lint system-deps clean dashboards dist docker

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,all]'
	@touch $(STAMP)

venv: $(BIN)/python ## Create the virtual environment

install: $(STAMP) ## Install the project with every extra and the dev tools
requirements: install ## Alias of install (the PHD2 requirement's name)
requirements-dev: install ## Alias of install

system-deps: ## Install Debian's prometheus (promtool) when missing and allowed
	@bash scripts/system-deps.sh

fmt: $(STAMP) ## Format the code
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts
format: fmt ## Alias of fmt

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check --no-cache src tests benchmarks scripts hatch_build.py
	$(BIN)/ruff format --no-cache --check src tests benchmarks scripts hatch_build.py

typecheck: $(STAMP) ## mypy --strict on src/
	$(BIN)/mypy src

cov: $(STAMP) system-deps ## pytest with branch coverage (>= 90 % on the core and each exporter)
	$(BIN)/pytest -n $(WORKERS) --dist loadscope --cov --cov-branch --cov-report=term --cov-report=json:.coverage.json --cov-fail-under=90
	$(BIN)/python scripts/check_coverage.py .coverage.json
coverage: cov ## Alias of cov

metrics-lint: $(STAMP) system-deps ## promtool check metrics on a live scrape of every exporter
	$(BIN)/python scripts/metrics_lint.py

test: lint typecheck cov metrics-lint ## Every check: lint, types, tests + coverage, promtool

check: test ## Alias of test (lint + typecheck + tests)

demo: $(STAMP) ## Every exporter against its simulator on 127.0.0.1 (Ctrl-C stops)
	$(BIN)/exporterhub demo

dashboards: $(STAMP) ## Generate the Grafana dashboards into deploy/grafana/dashboards/
	$(BIN)/python -m exporterhub.dashboards deploy/grafana/dashboards

dist: $(STAMP) ## Build the wheel and sdist into dist/ (git revision baked in) and twine check them
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

docker: ## Build the image (needs a container engine; the revision as a build arg)
	docker build -f deploy/docker/Dockerfile --build-arg REVISION="$$(git rev-parse --short=12 HEAD)" -t exporterhub .

.PHONY: chaos
chaos: $(STAMP) system-deps ## The whole fault matrix (every exporter x every fault) and the store faults
	EXPORTERHUB_CHAOS=full $(BIN)/pytest tests/chaos -p no:cacheprovider

.PHONY: fuzz
fuzz: $(STAMP) ## Long fuzz run: tests/fuzz with HYPOTHESIS_PROFILE=long (FUZZ_SCALE x the make test budget, 100 by default)
	HYPOTHESIS_PROFILE=long $(BIN)/pytest tests/fuzz -p no:cacheprovider --timeout=7200 -q

bench: $(STAMP) ## Benchmarks; figures go into the README
	$(BIN)/python -m benchmarks

# Supply chain: the locked set (requirements/lock.txt), its audit, the licence list.
.PHONY: lock audit advisories licences
LOCK := requirements/lock.txt

lock: $(STAMP) ## Re-resolve requirements/lock.txt (all of .[dev,all], hashed; LOCK_ARGS=--upgrade to move on)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra all \
	  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	  --generate-hashes --custom-compile-command "make lock" --quiet $(LOCK_ARGS) -o $(LOCK)
	$(BIN)/python -m scripts.supply_chain.lockfile

audit: $(STAMP) ## Vendored-advisory check, then pip-audit of the lock (online; fails if it cannot ask)
	$(BIN)/python -m scripts.supply_chain.audit

advisories: $(STAMP) ## Refresh requirements/advisories/ from ADVISORY_DB=<checkout of pypa/advisory-database>
	@test -n "$(ADVISORY_DB)" || { echo "usage: make advisories ADVISORY_DB=/path/to/advisory-database" >&2; exit 2; }
	$(BIN)/python -m scripts.supply_chain.advisories refresh "$(ADVISORY_DB)"

licences: $(STAMP) ## Rewrite docs/licences.md (vendored assets, runtime dependencies' licences)
	$(BIN)/python -m scripts.supply_chain.licences

.PHONY: soak
soak: $(STAMP) system-deps ## 30-minute soak (100 targets, real Prometheus); figures into benchmarks/soak/
	$(BIN)/python -m benchmarks.soak --minutes 30

clean: ## Remove the venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.json htmlcov dist build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
