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

.PHONY: setup report report-quick browser test lint bench lab viz clean FORCE

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

# The site: every notebook executed (full designs: the stored sweeps under results/ are reused when complete).
report: setup
	$(BIN)/depin report --out site

# The same site from each notebook's quick parameters (what the test suite builds): minutes instead of an hour.
report-quick: setup
	$(BIN)/depin report --quick --out site

# Headless Chromium for the browser test of the site (Debian's package; root or sudo installs it once). A
# Chromium elsewhere: CHROMIUM=/path/to/chrome make test.
browser:
	@[ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium (for tests/test_site.py)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		$$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || \
			{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; } || \
			{ echo "make browser: could not install chromium; install it (apt-get install chromium) and rerun" >&2; \
			  exit 1; }; }

# Without Chromium (no root, no apt) every other test still runs; the browser test then fails and says why.
test: setup
	-@$(MAKE) --no-print-directory browser
	$(BIN)/ruff check models tests benchmarks
	$(BIN)/python -m pytest -n 2 -q --durations=15

lint: setup
	$(BIN)/ruff check models tests benchmarks

# One table: every performance target, its measured value, pass or fail (BENCH_ARGS=--report also times a
# full make report on a fresh clone). The other scripts in benchmarks/ print tables of their own.
BENCH_ARGS ?=
bench: setup
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# JupyterLab on the notebooks. As root (common in containers) Jupyter needs --allow-root; pass more with
# LAB_ARGS, e.g. `make lab LAB_ARGS="--ip 0.0.0.0 --no-browser"` to reach a container from its host.
LAB_ARGS ?=
lab: setup
	$(BIN)/jupyter lab --notebook-dir notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The Mesa SolaraViz page of the agent-based model, on http://127.0.0.1:8765 (VIZ_ARGS to change host or port).
VIZ_ARGS ?= --host 127.0.0.1 --port 8765
viz: setup
	$(BIN)/solara run models/abm/viz.py $(VIZ_ARGS)

clean:
	rm -rf $(VENV) site results
