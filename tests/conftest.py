"""Shared fixtures: small, fast scenarios built from the base file."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.params import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def base_scenario():
    return load_scenario(ROOT / "params" / "base.yaml")


@pytest.fixture(scope="session")
def crash_scenario():
    return load_scenario(ROOT / "params" / "base_crash.yaml")


@pytest.fixture(scope="session")
def small_scenario(base_scenario):
    """A short horizon with a crash and a vesting cliff inside it, for ledger checks."""
    return with_overrides(
        base_scenario,
        {
            "simulation.steps": 80,
            "shocks": [
                {"type": "price_crash", "start": 30, "size": 0.6},
                {"type": "liquidity_drain", "start": 40, "size": 0.3},
                {"type": "unlock_cliff", "start": 60, "size": 0.5},
                {"type": "price_path", "start": 65, "path": [0.9, 0.8, 0.85]},
            ],
        },
    )
