# A fresh clone needs nothing but python3.11 (or python3 >= 3.11) and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup report test lint bench lab clean

setup: $(STAMP)

# Re-install only when the dependency list changes (or the venv is missing).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

report: setup
	$(BIN)/depin report --out site

test: setup
	$(BIN)/ruff check models tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

lint: setup
	$(BIN)/ruff check models tests benchmarks

bench: setup
	$(BIN)/python benchmarks/engines.py

lab: setup
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf $(VENV) site results
