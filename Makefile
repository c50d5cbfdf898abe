# toolkit: simulate, reconcile and tune PostCo returns refunded as Rise.ai store credit.
# `make help` lists every target. `make demo` and `make test` set the project up when needed.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= data/demo
RETURNS ?= 20000
SEED ?= 11

.DEFAULT_GOAL := help
.PHONY: help setup demo test lab notebooks strip bench clean

help: ## List every target with one line on what it does
	@grep -E '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the project with its test and bench extras

demo: $(STAMP) ## Simulate the default scenario, reconcile it, report it; print where results are
	$(PY) -m toolkit demo --out $(DEMO_DIR) --returns $(RETURNS) --seed $(SEED)

test: $(STAMP) ## Run every test (unit, property, golden, notebooks, report in real programs)
	$(PY) -m pytest -n 2 -q

lab: $(STAMP) ## Start JupyterLab on notebooks/ with the project installed
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

notebooks: $(STAMP) ## Execute every notebook into notebooks/_executed/ and export HTML beside it
	$(PY) -m toolkit.notebooks

strip: $(STAMP) ## Clear outputs an analyst saved into the committed notebooks
	$(PY) -m toolkit.notebooks --strip

bench: $(STAMP) ## Run the benchmarks and write bench/results.md (takes several minutes)
	$(PY) -m bench

clean: ## Remove generated data, executed notebooks and caches (keeps .venv)
	rm -rf data/demo out notebooks/_executed bench/_work .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
