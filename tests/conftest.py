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
    """80 weekly steps with a forced sale, a liquidity drain, a vesting cliff and a replayed price path inside.

    The forced seller needs about 2.9 M tokens to push the genesis pool of 5 M tokens down 60%; it holds
    4 M. The arbitrageur of the price path holds 1 M tokens and brings USD from outside to buy.
    """
    return with_overrides(
        base_scenario,
        {
            "simulation.steps": 80,
            "shocks": [
                {"type": "price_crash", "start_day": 30 * 7, "size": 0.6, "inventory_tokens": 4e6},
                {"type": "liquidity_drain", "start_day": 40 * 7, "size": 0.3},
                {"type": "unlock_cliff", "start_day": 60 * 7, "size": 0.5},
                {"type": "price_path", "start_day": 65 * 7, "path": [0.9, 0.8, 0.85], "inventory_tokens": 1e6},
            ],
        },
    )
