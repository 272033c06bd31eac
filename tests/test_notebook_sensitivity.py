"""Notebook 08 (global sensitivity) runs in quick mode, and the helpers of models.analysis.sensitivity_figures."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from notebook_helpers import figures, markdown

from models.analysis import sensitivity_figures as sx
from models.analysis.sensitivity import design
from models.experiments.spec import load_sweep

matplotlib.use("Agg")

NOTEBOOK = "08_sensitivity.ipynb"
FIELDS = {"statement", "value", "interval", "direction", "threshold", "notebook", "figure", "holds"}


@pytest.mark.xdist_group("site")
def test_sensitivity_notebook_runs_in_quick_mode(site_build):
    findings = site_build.site / "findings.json"
    outs = site_build.outputs(NOTEBOOK)
    assert figures(outs) == 4
    texts = markdown(outs)
    runs = len(design(load_sweep(sx.sweep_path("sensitivity.yaml"), quick=True)))
    sweep = next(text for text in texts if text.startswith("**Sobol sweep.**"))
    assert f"= {runs:,} runs" in sweep and "runs computed in" in sweep and "CPUs" in sweep, sweep
    assert any(text.startswith("**Findings.**") for text in texts), "the Findings list is missing"
    records = json.loads(findings.read_text())
    entries = [f for f in records if f["notebook"] == NOTEBOOK]
    assert 3 <= len(entries) <= 6
    for entry in entries:
        assert FIELDS <= set(entry), entry
        assert entry["holds"] is True, entry["statement"]
    assert len({f["notebook"] for f in records} - {NOTEBOOK}) >= 3, "another notebook's findings were dropped"
    assert (site_build.results / "sensitivity-quick" / "summary.parquet").exists()
    assert (site_build.results / "screening-quick" / "summary.parquet").exists()


@pytest.fixture(scope="module")
def quick_spec():
    return load_sweep(sx.sweep_path("sensitivity.yaml"), quick=True)


def test_indices_table_finds_the_only_active_parameter_and_skips_a_constant_outcome(quick_spec):
    x = design(quick_spec)
    names = list(quick_spec.parameters)
    active = names.index("shocks.0.size")
    table = sx.indices_table(quick_spec, {"linear": 3.0 * x[:, active], "flat": np.full(len(x), 0.7)},
                             num_resamples=50)
    linear = table[table["outcome"] == "linear"].set_index("parameter")
    assert linear["defined"].all()
    assert linear.loc["shocks.0.size", "ST"] > 0.5
    # a parameter the outcome does not depend on leaves f(A) = f(AB_i): its total index is exactly 0
    assert (linear.drop(index="shocks.0.size")["ST"] == 0.0).all()
    flat = table[table["outcome"] == "flat"]
    assert not flat["defined"].any() and flat["ST"].isna().all() and len(flat) == len(names)
    assert set(table.loc[table["parameter"].isin(sx.LEVERS), "role"]) == {"lever"}
    assert set(table.loc[~table["parameter"].isin(sx.LEVERS), "role"]) == {"uncertainty"}


def test_group_shares_bounds_each_group_from_its_s1_and_the_other_groups_st():
    table = pd.DataFrame({
        "outcome": ["a"] * 4 + ["b"] * 4 + ["c"] * 2,
        "parameter": ["l1", "l2", "u1", "u2"] * 2 + ["l1", "u1"],
        "role": ["lever", "lever", "uncertainty", "uncertainty"] * 2 + ["lever", "uncertainty"],
        "S1": [0.05, 0.05, 0.3, 0.2, 0.0, 0.1, 0.05, 0.05, np.nan, np.nan],
        "ST": [0.1, 0.1, 0.6, 0.4, 0.5, 0.6, 0.2, 0.3, np.nan, np.nan],
        "defined": [True] * 8 + [False] * 2})
    shares = sx.group_shares(table)
    assert list(shares.index) == ["a", "b"]  # an undefined outcome has no row
    assert shares.loc["a", "sum_S1"] == pytest.approx(0.6)
    assert shares.loc["a", "interaction"] == pytest.approx(0.4)
    assert shares.loc["a", "uncertainty_low"] == pytest.approx(0.8)  # 1 - (0.1 + 0.1) beats 0.3 + 0.2
    assert shares.loc["a", "lever_low"] == pytest.approx(0.1)  # 0.05 + 0.05 beats 1 - (0.6 + 0.4) = 0
    assert shares.loc["b", "lever_low"] == pytest.approx(0.5)  # 1 - (0.2 + 0.3)
    assert shares.loc["b", "uncertainty_low"] == pytest.approx(0.1)  # 1 - 1.1 < 0: the S1 sum is the bound
    assert shares.loc["b", "lever_ST"] == pytest.approx(1.1)


def test_main_effects_follow_a_linear_outcome_and_stay_flat_for_an_unused_column():
    rng = np.random.default_rng(7)
    values = pd.DataFrame({"used": rng.uniform(0.0, 1.0, 4000), "unused": rng.uniform(10.0, 20.0, 4000)})
    effects = sx.main_effects(values, 2.0 * values["used"].to_numpy(), bins=4)
    used = effects[effects["parameter"] == "used"]
    assert used["n"].sum() == 4000 and len(used) == 4
    assert np.allclose(used["x"], [0.125, 0.375, 0.625, 0.875], atol=0.01)
    assert np.allclose(used["mean"], 2.0 * used["x"], atol=0.03)
    assert (used["low"] < used["mean"]).all() and (used["high"] > used["mean"]).all()
    unused = effects[effects["parameter"] == "unused"]
    assert unused["mean"].max() - unused["mean"].min() < 0.1
    assert unused["x"].between(10.0, 20.0).all()


def test_overlap_names_what_the_sobol_set_missed_and_left_out():
    morris = pd.DataFrame({"parameter": ["a", "x", "b", "y", "c"], "rank": [1, 2, 3, 4, 5]})
    result = sx.overlap(morris, {"a", "b", "c"}, top=3)
    assert result == {"shared": ["a", "b"], "missed": ["x"], "left_out": ["c"]}


def test_sobol_bars_put_levers_above_uncertainties_and_mark_a_constant_outcome(quick_spec):
    x = design(quick_spec)
    table = sx.indices_table(quick_spec, {"y": x[:, 0] + x[:, 5], "flat": np.zeros(len(x))}, num_resamples=20)
    fig = sx.sobol_bars(table, {"y": "some outcome", "flat": "constant"})
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[:len(sx.LEVERS)] == [sx.name(p) for p in quick_spec.parameters if p in sx.LEVERS]
    assert any("no indices" in t.get_text() for t in fig.axes[1].texts)
    assert all("variance" in ax.get_xlabel() for ax in fig.axes)


def test_article_and_roles():
    assert sx.article("lever") == "a lever" and sx.article("uncertainty") == "an uncertainty"
    assert sx.role("payment.burn_share") == "lever"
    assert sx.role("providers.capex_usd", sobol_set={"shocks.0.size"}) == "other"
    assert sx.role("shocks.0.size", sobol_set={"shocks.0.size"}) == "uncertainty"
