# Verisight — two commands on a fresh machine:
#   make demo   creates .venv, installs Verisight, walks through the whole flow on a benign demo collection
#   make test   installs dev dependencies (and the apt packages tests need), runs the suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench clean install fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/verisight demo

test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check verisight tests bench scripts fuzz
	$(BIN)/ruff format --check verisight tests bench scripts fuzz
	$(BIN)/mypy

FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	$(BIN)/python fuzz/run.py --all --seconds $(FUZZ_SECONDS)

bench: $(STAMP)
	$(BIN)/python bench/scan_throughput.py

clean:
	rm -rf $(VENV) verisight-case fuzz/out .pytest_cache .mypy_cache .ruff_cache
