"""The sector scenarios in params/sectors: exactly the five sectors, each valid, dated, sourced line by line,
and runnable on every engine, with cadCAD and the batched engine agreeing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from models.engines import ENGINES, run
from models.params import load_scenario, with_overrides

ABM_TEST_POOL = 200_000  # potential providers of an ABM test run (one agent each; see below)

SECTOR_DIR = Path(__file__).resolve().parents[1] / "params" / "sectors"
SECTORS = {"storage", "compute", "wireless", "ai", "sensor"}
SECTOR_FILES = sorted(SECTOR_DIR.glob("*.yaml"))
STEPS = 6

# a YAML line that sets a value: an optional list dash, a key and something after its colon, or a bare list item
KEY_VALUE = re.compile(r"^(?:-\s+)?[^\s#:][^#:]*:\s+(?P<value>[^#\s].*)$")
LIST_ITEM = re.compile(r"^-\s+(?P<value>[^#\s].*)$")
EMPTY_COLLECTION = re.compile(r"^(\[\s*\]|\{\s*\})\s*(#.*)?$")


def uncommented_value_lines(text: str) -> list[tuple[int, str]]:
    """Lines that set a scalar (or a flow collection holding scalars) without a ``#`` comment beside them.

    Blank lines, comment lines, block openers (``key:``) and empty flow collections (``shocks: []``) set no
    scalar. A comment is a ``#`` preceded by whitespace, as YAML reads it.
    """
    missing = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = KEY_VALUE.match(stripped) or LIST_ITEM.match(stripped)
        if match is None or EMPTY_COLLECTION.match(match["value"]):
            continue
        if not re.search(r"\s#", stripped):
            missing.append((number, line))
    return missing


def test_comment_rule_on_examples():
    text = "\n".join([
        "# header", "", "simulation:", "  steps: 260  # source", "  seed: 42", "shocks: []", "vesting:",
        "  allocations:", "    - name: team  # assumption", "    - tokens: 5", "  url: a#b  # kept", "  bare: x#y",
    ])
    assert [n for n, _ in uncommented_value_lines(text)] == [5, 10, 12]


def test_sector_folder_holds_exactly_the_five_sectors():
    assert {p.stem for p in SECTOR_FILES} == SECTORS


@pytest.fixture(scope="module", params=SECTOR_FILES, ids=lambda p: p.stem)
def sector(request):
    path = request.param
    return path, load_scenario(path)


def test_sector_file_validates_and_is_dated(sector):
    path, scenario = sector
    assert scenario.sector == path.stem
    assert scenario.name == path.stem
    assert scenario.simulation.start_date is not None


def test_every_value_line_cites_a_source(sector):
    path, _ = sector
    missing = uncommented_value_lines(path.read_text())
    assert not missing, f"{path.name}: lines without a source comment: " + "; ".join(
        f"{n}: {line.strip()}" for n, line in missing)


def test_sector_runs_on_every_engine(sector):
    path, scenario = sector
    frames = {engine: run(scenario, engine, steps=STEPS) for engine in ENGINES if engine != "abm"}
    # the ABM makes one agent per potential provider: the calibrated wireless pool (millions of would-be
    # hotspot owners) needs over a GB; the test runs it with a smaller pool, every other value as in the file
    pool = min(scenario.simulation.potential_providers, ABM_TEST_POOL)
    frames["abm"] = run(with_overrides(scenario, {"simulation.potential_providers": pool}), "abm", steps=STEPS)
    for engine, frame in frames.items():
        assert len(frame) == STEPS + 1, engine
        assert np.isfinite(frame["price"]).all() and (frame["price"] > 0).all(), engine
        assert np.isfinite(frame["providers"]).all() and (frame["providers"] >= 0).all(), engine
    for column in ("price", "providers"):
        np.testing.assert_allclose(frames["cadcad"][column].to_numpy(), frames["batch"][column].to_numpy(),
                                   rtol=1e-9, atol=0, err_msg=f"{path.name}: cadcad vs batch, {column}")
