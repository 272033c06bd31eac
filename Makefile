# A fresh clone needs nothing but make and CPython 3.11 or 3.12 (python3.11 is picked when it is on PATH,
# else python3; choose another with `make PYTHON=/path/to/python3.12 ...`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# Fixed: setup deletes $(VENV) when it was made by another Python, so it must never name anything else.
override VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# One line that identifies an interpreter: ABI tag, full version and build, base installation. A venv's
# Python prints the same line as the Python that made it (and nothing when that Python is gone).
PY_ID_CMD := import sys; print(sys.implementation.cache_tag, " ".join(sys.version.split()), sys.base_prefix)
PY_ID := $(shell $(PYTHON) -c '$(PY_ID_CMD)' 2>/dev/null)
VENV_ID := $(shell $(BIN)/python -c '$(PY_ID_CMD)' 2>/dev/null)
STAMP_ID := $(shell cat $(STAMP) 2>/dev/null)

.PHONY: setup report test lint bench lab clean FORCE

setup: $(STAMP)

# Re-install only when the dependency list changes, the venv is missing, or the venv's Python (or the one
# recorded in the stamp) is not $(PYTHON); a venv made by another Python is deleted and made anew.
ifneq ($(PY_ID) | $(PY_ID),$(VENV_ID) | $(STAMP_ID))
$(STAMP): FORCE
endif
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys' 2>/dev/null || { echo "make: PYTHON='$(PYTHON)' does not run;" \
		"install python3.11 (or 3.12) or pass PYTHON=/path/to/python" >&2; exit 1; }
	@want="$$($(PYTHON) -c '$(PY_ID_CMD)')"; have="$$($(BIN)/python -c '$(PY_ID_CMD)' 2>/dev/null)"; \
	if [ "$$have" != "$$want" ]; then \
		if [ -e $(VENV) ] || [ -L $(VENV) ]; then \
			echo "$(VENV) was made by another Python ($${have:-its Python no longer runs});" \
				"rebuilding it with $(PYTHON) ($$want)"; \
			rm -rf ./.venv; \
		fi; \
		echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	$(BIN)/python -c '$(PY_ID_CMD)' > $(STAMP)

FORCE:

report: setup
	$(BIN)/depin report --out site

test: setup
	$(BIN)/ruff check models tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

lint: setup
	$(BIN)/ruff check models tests benchmarks

bench: setup
	$(BIN)/python benchmarks/engines.py
	$(BIN)/python benchmarks/stylised_facts.py --seeds 20
	$(BIN)/python benchmarks/abm_space.py

lab: setup
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf $(VENV) site results
