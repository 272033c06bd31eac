"""Notebook 06 (the price-shock phase diagram) runs in quick mode, and the helpers of models.analysis.flagship."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from notebook_helpers import figures, markdown

from models.analysis import flagship

NOTEBOOK = "06_price_shock_phase_diagram.ipynb"
FIELDS = {"statement", "value", "interval", "direction", "threshold", "notebook", "figure", "holds"}


@pytest.mark.xdist_group("site")
def test_flagship_notebook_runs_in_quick_mode(site_build):
    # quick parameters in the notebook's metadata: the sweep's quick block, 2 hysteresis replicates
    findings = site_build.site / "findings.json"
    outs = site_build.outputs(NOTEBOOK)
    assert figures(outs) == 7
    assert any(text.startswith("**Findings.**") for text in markdown(outs)), "the Findings list is missing"
    entries = [f for f in json.loads(findings.read_text()) if f["notebook"] == NOTEBOOK]
    assert 3 <= len(entries) <= 6
    for entry in entries:
        assert FIELDS <= set(entry), entry
        assert entry["holds"] is True, entry["statement"]


def test_label_shares_counts_each_label_with_intervals():
    summary = pd.DataFrame({"base": ["a", "a", "a", "b"],
                            "regime": ["collapse", "stall", "stall", "collapse"],
                            "regime_absolute": ["collapse", "collapse", "stall", "collapse"]})
    shares = flagship.label_shares(summary)
    assert shares.loc["a", "regime"] == pytest.approx(1 / 3)
    assert shares.loc["a", "regime_absolute"] == pytest.approx(2 / 3)
    assert shares.loc["a", "disagree"] == pytest.approx(1 / 3)
    assert shares.loc["all", "n"] == 4 and shares.loc["all", "regime"] == pytest.approx(0.5)
    assert shares.loc["b", "regime"] == 1.0 and shares.loc["b", "regime_low"] < 1.0


def test_shift_reports_direction_overlap_and_skips_missing_levels():
    critical = pd.DataFrame({
        "base": ["a", "a", "b", "b", "c"], "depth": [0.02, 0.4, 0.02, 0.4, 0.02],
        "value": [0.6, 0.8, 0.7, 0.72, 0.5], "low": [0.55, 0.75, 0.6, 0.65, 0.4],
        "high": [0.65, 0.85, 0.8, 0.79, 0.6], "inside": [True, True, True, False, True]})
    moves = flagship.shift(critical, "depth", 0.02, 0.4)
    assert list(moves.index) == ["a", "b"]
    assert moves.loc["a", "change"] == pytest.approx(0.2) and moves.loc["a", "separated"]
    assert not moves.loc["b", "separated"] and not moves.loc["b", "inside_high"]
    text = flagship.describe_shift(moves, "deeper", "thin", "deep")
    assert "rises by 0.20 (the intervals do not overlap)" in text
    assert "outside the swept sizes" in text and "not resolved" in text


def test_representative_runs_pick_the_runs_nearest_each_regime_median():
    summary = pd.DataFrame({"run_id": list("pqrstu"), "base": ["a"] * 6,
                            "regime": ["collapse"] * 3 + ["stall"] * 3,
                            "final_ratio": [0.1, 0.2, 0.45, 0.6, 0.7, np.nan]})
    chosen = flagship.representative_runs(summary, per_regime=1)
    assert list(chosen["run_id"]) == ["q", "s"]


def test_hysteresis_table_measures_the_gap_between_price_and_providers():
    runs = pd.DataFrame({"sector": ["a"] * 4, "size": [0.8] * 4, "revert": [True, True, False, False],
                         "price_ratio": [1.0, 0.9, 0.2, 0.3], "providers_ratio": [0.5, 0.95, 0.3, 0.3]})
    table = flagship.hysteresis_table(runs).set_index("revert")
    assert table.loc[True, "share_below"] == pytest.approx(0.5)
    assert table.loc[True, "gap"] == pytest.approx(np.median([0.5, -0.05]))
    assert table.loc[False, "share_below"] == 0.0
    assert flagship.measure_day() == pytest.approx(364 + 91 + 182 + 91 + 365)
