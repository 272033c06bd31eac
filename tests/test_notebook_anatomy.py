"""Notebook 07 (anatomy of a death spiral) runs small, and the lag measures of models.analysis.anatomy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from notebook_helpers import figures, markdown

from models.analysis import anatomy
from models.analysis.twin_runs import Pair

NOTEBOOK = "07_death_spiral_anatomy.ipynb"


@pytest.mark.xdist_group("site")
def test_anatomy_notebook_runs_small(site_build):
    # quick parameters in the notebook's metadata: quick, 104 steps, 3 replicates, on the wireless sector
    path = site_build.site / "findings.json"
    outs = site_build.outputs(NOTEBOOK)
    assert figures(outs) >= 3
    assert any("**Findings**" in text for text in markdown(outs)), "the Findings list is missing"
    records = json.loads(path.read_text())
    mine = [r for r in records if r["notebook"] == NOTEBOOK]
    assert 3 <= len(mine) <= 5
    assert all(r["holds"] for r in mine), [r["statement"] for r in mine if not r["holds"]]
    others = {r["notebook"] for r in records} - {NOTEBOOK}
    assert len(others) >= 3, "another notebook's findings were dropped"  # all notebooks share one file


def _pair(columns: dict[str, tuple[np.ndarray, np.ndarray]], steps: int) -> Pair:
    """A pair whose shocked and twin frames hold the given columns (all other chain columns constant 1)."""
    base = {"step": np.arange(steps)}
    shocked = {**base, **{link.column: np.ones(steps) for link in anatomy.CHAIN}}
    twin = {**base, **{link.column: np.ones(steps) for link in anatomy.CHAIN}}
    for column, (s, t) in columns.items():
        shocked[column], twin[column] = s, t
    return Pair(pd.DataFrame(shocked), pd.DataFrame(twin))


def _fall(steps: int, at: int, depth: float) -> np.ndarray:
    """1 until step ``at``, then a linear fall of the log over 10 steps to ``depth`` (half of it at ``at + 5``)."""
    t = np.arange(steps)
    share = np.clip((t - at) / 10.0, 0.0, 1.0)
    return np.exp(share * np.log(depth))


def test_crossings_recover_known_lags():
    steps, start = 80, 10
    price, providers, users = _fall(steps, 12, 0.2), _fall(steps, 30, 0.5), _fall(steps, 37, 0.05)
    ones = np.ones(steps)
    pair = _pair({"price": (price, ones), "providers": (providers, ones), "users": (users, ones)}, steps)
    # 45% of each log fall is first reached 5 steps after its start (50% there, 40% a step before), whatever its depth
    table = anatomy.crossings(anatomy.deviations(pair, start), start, 0.45, 7.0).set_index("link")
    assert table.loc["price", "crossing_step"] == 17
    assert table.loc["providers", "crossing_step"] == 35
    assert table.loc["users", "crossing_step"] == 42
    assert table.loc["price", "delay_days"] == (17 - start) * 7.0
    assert table.loc["price", "lag_days"] == (17 - start) * 7.0
    # links that never move have no crossing, and the next link's lag is undefined
    assert np.isnan(table.loc["capacity", "crossing_step"])
    assert np.isnan(table.loc["capacity", "lag_days"])
    gap = anatomy.gap_days(anatomy.crossings(anatomy.deviations(pair, start), start, 0.45).assign(replicate=0),
                           "price", "providers")
    assert gap.iloc[0] == (35 - 17) * 7.0
    assert anatomy.trough_ratios(table.reset_index())["users"] == pytest.approx(0.05)


def test_exit_deviation_is_cumulative_excess_share():
    steps, start = 30, 5
    twin_exits = np.full(steps, 2.0)
    shocked_exits = twin_exits.copy()
    shocked_exits[10:14] += 25.0  # 100 extra exits over steps 10-13, then the same flow as the twin
    shocked_exits[20:] -= 1.0  # later fewer are left to leave: the excess shrinks
    pair = _pair({"exits": (shocked_exits, twin_exits), "providers": (np.full(steps, 200.0),) * 2}, steps)
    dev = anatomy.deviations(pair, start)["exits"]
    assert dev.loc[9] == 0.0
    assert dev.loc[13] == pytest.approx(100.0 / 200.0)
    assert dev.loc[25] == pytest.approx((100.0 - 6.0) / 200.0)
    table = anatomy.crossings(dev.to_frame(), start).set_index("link")
    assert table.loc["exits", "peak_step"] == 13
    assert table.loc["exits", "crossing_step"] == 11  # 50 extra exits by step 11 = half the peak of 100


def test_a_rise_is_not_a_fall():
    steps, start = 40, 5
    up = 1.0 / _fall(steps, 10, 0.5)  # the shocked price rises above its twin
    pair = _pair({"price": (up, np.ones(steps))}, steps)
    table = anatomy.crossings(anatomy.deviations(pair, start), start).set_index("link")
    assert np.isnan(table.loc["price", "crossing_step"])


def test_representative_is_the_median_collapse():
    summary = pd.DataFrame({"replicate": range(6), "regime": ["collapse", "stall", "collapse", "collapse",
                                                                "collapse", "growth"],
                            "trough": [0.30, 0.01, 0.10, 0.20, 0.40, 0.90]})
    assert anatomy.representative(summary) == 3  # collapses 0.10, 0.20, 0.30, 0.40: the lower middle is 0.20
    assert anatomy.representative(summary[summary["replicate"] != 3]) == 0  # 0.10, 0.30, 0.40: median 0.30
    with pytest.raises(ValueError, match="no replicate"):
        anatomy.representative(summary[summary["regime"] != "collapse"])


def test_lag_spread_and_interval():
    table = pd.DataFrame({"link": ["price", "providers"] * 3, "replicate": [0, 0, 1, 1, 2, 2],
                          "lag_days": [7.0, 70.0, 14.0, 84.0, 21.0, np.nan],
                          "delay_days": [7.0, 77.0, 14.0, 98.0, 21.0, np.nan]})
    spread = anatomy.lag_spread(table, n_resamples=200)
    assert spread.loc["price", "lag_days"] == 14.0
    assert spread.loc["price", "lag_min"] == 7.0 and spread.loc["price", "lag_max"] == 21.0
    assert spread.loc["providers", "replicates"] == 2
    assert spread.loc["price", "lag_low"] <= 14.0 <= spread.loc["price", "lag_high"]
    assert anatomy.median_with_interval([5.0]) == (5.0, None)
