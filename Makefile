# Docker Images & Dockerfiles workbook. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB_PORT ?= 8888

.DEFAULT_GOAL := help
.PHONY: help setup engine bases browser lab test test-fast test-replay test-second-store site bench lint doctor cleanup

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# JupyterLab opens without asking about Jupyter news or checking for updates.
$(LAB_OVERRIDES): scripts/lab-overrides.json $(STAMP)
	install -D -m 644 $< $@

engine: ## make sure a Docker engine answers (installs and starts one on Debian/Ubuntu)
	bash scripts/setup-engine.sh

bases: $(STAMP) engine ## make sure every catalog base image is present (pulled or stand-in)
	$(PY) -m helpers bases

setup: $(STAMP) $(LAB_OVERRIDES) engine bases ## everything the notebooks need: venv, engine, base images

browser: $(STAMP) ## Chromium for the real-browser test (Debian's package; Playwright drives it)
	bash scripts/setup-browser.sh

lab: $(STAMP) $(LAB_OVERRIDES) engine ## open JupyterLab on notebooks/00-start-here.ipynb (each notebook prepares the bases it needs)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 \
	  --ServerApp.port=$(LAB_PORT) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  --LabApp.default_url=/lab/tree/00-start-here.ipynb

test: setup browser ## set up if needed, then every test: engine tests and notebooks on both image stores
	PY=$(PY) bash scripts/test-both-stores.sh

test-fast: $(STAMP) ## no engine, no network: unit tests, the notebook import rule, three notebooks replayed (about a minute)
	DOCKER_HOST=unix:///nonexistent/docker.sock $(PY) -m pytest tests -m "not engine and not slow and not network" \
	  -p no:cacheprovider -q

test-replay: $(STAMP) ## no engine: every notebook replayed from its recording, and the clean Binder environment
	DOCKER_HOST=unix:///nonexistent/docker.sock $(PY) -m pytest tests/test_replay.py -p no:cacheprovider -q

test-second-store: setup ## the engine tests and notebooks on the other image store only (a second daemon)
	PY=$(PY) bash scripts/test-second-store.sh

site: $(STAMP) ## the course website from the executed notebooks, offline, into site/_build/html
	$(PY) site/build.py

bench: setup ## measure sizes, build times and overheads into bench/results/ (not a test)
	$(PY) bench/bench.py

lint: $(STAMP) ## ruff over helpers, tests, bench, site and scripts
	$(VENV)/bin/ruff check helpers tests bench site scripts
	$(VENV)/bin/ruff format --check helpers tests bench site scripts

doctor: $(STAMP) ## what the workbook can do on this machine
	$(PY) -m helpers doctor

cleanup: $(STAMP) ## remove what the workbook created (never anything else)
	$(PY) -m helpers cleanup
