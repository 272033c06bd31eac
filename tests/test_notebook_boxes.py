"""Notebook 09 (safe boxes) runs in quick mode, and the helpers of models.analysis.discovery_figures."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
from notebook_helpers import figures, markdown

from models.analysis import discovery_figures as dfig
from models.analysis.discovery import Box, prim
from models.experiments.boxes import read_box
from models.experiments.spec import ParameterRange, load_sweep

matplotlib.use("Agg")

NOTEBOOK = "09_safe_boxes.ipynb"
FIELDS = {"statement", "value", "interval", "direction", "threshold", "notebook", "figure", "holds"}
RANGES = {"payment.burn_share": ParameterRange(low=0.0, high=1.0),
          "shocks.0.size": ParameterRange(low=0.3, high=0.95),
          "providers.exit_patience_days": ParameterRange(low=60.0, high=900.0)}


@pytest.mark.xdist_group("site")
def test_boxes_notebook_runs_in_quick_mode(site_build):
    findings = site_build.site / "findings.json"
    results = site_build.results
    # the quick parameters (notebook metadata) set a tighter target than the default 10%: the quick sweep's 160
    # short runs collapse less often than that, and the box should restrict something (the whole-sweep case is
    # covered by the pick_box tests below)
    outs = site_build.outputs(NOTEBOOK)
    assert figures(outs) == 5
    texts = markdown(outs)
    assert any(text.startswith("**Findings.**") for text in texts), "the Findings list is missing"
    assert any(text.startswith("**Design advice.**") for text in texts), "the design advice is missing"
    entries = [f for f in json.loads(findings.read_text()) if f["notebook"] == NOTEBOOK]
    assert 3 <= len(entries) <= 7
    for entry in entries:
        assert FIELDS <= set(entry), entry
        assert entry["holds"] is True, entry["statement"]
    box = read_box(results / "boxes" / "safe-p5.yaml")
    spec = yaml.safe_load(dfig.spec_path().read_text())
    assert box.stats["res_dim"] >= 1, "the quick sweep meets the 5% target unrestricted: lower it in this test"
    assert set(box.limits) <= set(spec["parameters"])
    for path, lim in box.limits.items():
        assert spec["parameters"][path]["low"] <= lim["low"] < lim["high"] <= spec["parameters"][path]["high"]
    retest = load_sweep(results / "boxes" / "safe-p5-retest.yaml")
    assert retest.seed != spec["seed"] and retest.samples == 64 and retest.steps == spec["quick"]["steps"]
    for path, lim in box.limits.items():
        assert (retest.parameters[path].low, retest.parameters[path].high) == (lim["low"], lim["high"])


def test_levers_and_uncertainties_are_the_two_halves_of_the_sweep():
    spec = yaml.safe_load(dfig.spec_path().read_text())
    assert list(spec["parameters"]) == [*dfig.LEVERS, *dfig.UNCERTAINTIES]
    assert {dfig.role(p) for p in dfig.LEVERS} == {"lever"}
    assert {dfig.role(p) for p in dfig.UNCERTAINTIES} == {"uncertainty"}


def make_box(limits, **stats):
    base = {"index": 3, "coverage": 0.7, "density": 0.95, "mass": 0.4, "n": 400, "k": 380, "res_dim": len(limits),
            "p_collapse": 0.05, "p_collapse_low": 0.03, "p_collapse_high": 0.08, "dropped_restrictions": 0}
    return Box(name="b", limits=limits, stats={**base, **stats})


CHECK = {"n": 64, "collapses": 3, "p_collapse": 3 / 64, "p_collapse_low": 0.016, "p_collapse_high": 0.13,
         "within": True}


def test_format_value_rounds_bounds_inward_and_adds_units():
    assert dfig.format_value("payment.burn_share", 0.4137, "low") == "42%"
    assert dfig.format_value("payment.burn_share", 0.4137, "high") == "41%"
    assert dfig.format_value("payment.burn_share", 0.42) == "42%"
    assert dfig.format_value("payment.burn_share", 0.42, "low") == "42%"  # no float fuzz pushes 42 to 43
    assert dfig.format_value("payment.service_price_usd", 0.0456, "high") == "0.045 USD per TiB-day"
    assert dfig.format_value("providers.exit_patience_days", 334.2, "low") == "335 days"
    assert dfig.format_value("unknown.path", 1.23456) == "1.235"


def test_limits_table_and_clauses_split_levers_from_uncertainties():
    box = make_box({"payment.burn_share": {"low": 0.4137, "high": 1.0},
                    "shocks.0.size": {"low": 0.3, "high": 0.5758},
                    "providers.exit_patience_days": {"low": 100.0, "high": 700.0}})
    table = dfig.limits_table(box, RANGES)
    assert table["restricted"].all()
    assert table.loc["payment.burn_share", "role"] == "lever"
    assert table.loc["shocks.0.size", "kept"] == pytest.approx((0.5758 - 0.3) / 0.65)
    assert dfig.clauses(box, RANGES, "lever") == ["burn share above 42%"]
    assert dfig.clauses(box, RANGES, "uncertainty") == ["market falls up to 57%",
                                                        "provider exit patience between 100 days and 700 days"]
    loose = dfig.limits_table(make_box({"payment.burn_share": {"low": 0.0, "high": 1.0}}), RANGES)
    assert not loose["restricted"].any() and (loose["kept"] == 1.0).all()
    with pytest.raises(ValueError, match="list of values"):
        dfig.limits_table(box, {"payment.mode": ParameterRange(values=("bme", "fee"))})


def test_design_advice_states_levers_worlds_intervals_and_retest():
    box = make_box({"payment.burn_share": {"low": 0.4137, "high": 1.0}, "shocks.0.size": {"low": 0.3, "high": 0.5758}})
    text = dfig.design_advice(box, RANGES, 0.1, "target", CHECK)
    assert text.startswith("Burn share above 42% keeps P(collapse) at or below 10% for market falls up to 57%.")
    assert "5.0% (95% interval 3.0% to 8.0%) of 400 runs" in text
    assert "on 64 fresh runs inside the box: 4.7% (1.6% to 13.0%), inside the in-sample interval" in text
    assert "do not rule out a P(collapse) above 10%" in text  # the fresh interval reaches 13%
    worlds_only = make_box({"shocks.0.size": {"low": 0.3, "high": 0.5758}}, p_collapse_high=0.09)
    text = dfig.design_advice(worlds_only, RANGES, 0.1, "target", {**CHECK, "p_collapse_high": 0.09})
    assert text.startswith("No lever needs restricting") and "rule out" not in text
    dense = dfig.design_advice(make_box({"shocks.0.size": {"low": 0.3, "high": 0.4}}, p_collapse=0.2), RANGES, 0.1,
                               "densest", {**CHECK, "within": False})
    assert dense.startswith("No box on the peeling trajectory keeps P(collapse) at or below 10%")
    assert "outside the in-sample interval" in dense
    whole = make_box(dfig.full_limits(RANGES), p_collapse=0.08)
    assert dfig.design_advice(whole, RANGES, 0.1, "target", CHECK).startswith("No restriction is needed")


def test_rule_parameters_reads_the_split_names_in_order():
    rules = ["providers.exit_patience_days > 227.7",
             "providers.exit_patience_days <= 227.7 and shocks.0.size <= 0.79 and payment.mode in ['bme']",
             "0.1 < payment.burn_share <= 0.5 and shocks.0.size > 0.3", "all runs"]
    assert dfig.rule_parameters(rules) == ["providers.exit_patience_days", "shocks.0.size", "payment.mode",
                                           "payment.burn_share"]


def synthetic(n=400, seed=1, base=0.03):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"payment.burn_share": rng.uniform(0.0, 1.0, n), "shocks.0.size": rng.uniform(0.3, 0.95, n),
                      "providers.exit_patience_days": rng.uniform(60.0, 900.0, n)})
    # collapse is likely with a large shock and a low burn share, rare otherwise; patience does not matter
    p = np.where((x["shocks.0.size"] > 0.7) & (x["payment.burn_share"] < 0.5), 0.9, base)
    return x, rng.uniform(size=n) < p


def test_pick_box_takes_the_widest_box_on_target_else_the_densest_else_the_whole_sweep():
    x, collapsed = synthetic()
    result = dfig.find_boxes(x, collapsed, RANGES)
    assert len(result.trajectory) > 1  # the whole trajectory, not ema_workbench's one-box "dump box"
    index, box, how = dfig.pick_box(result, 0.1, "b")
    assert how == "target" and box.stats["p_collapse"] <= 0.1 + 1e-12 and box.limits
    assert set(box.limits) <= {"payment.burn_share", "shocks.0.size"}
    wider = result.trajectory[(result.trajectory["density"] >= 0.9) & (result.trajectory["coverage"] >
                                                                      result.trajectory.loc[index, "coverage"])]
    assert wider.empty
    index, box, how = dfig.pick_box(result, 0.9, "b")  # the whole sweep already meets a 90% target
    assert how == "target" and index == 0 and box.limits == dfig.full_limits(RANGES)
    assert not dfig.limits_table(box, RANGES)["restricted"].any()


def test_pick_box_falls_back_on_the_densest_box_when_none_reaches_the_target():
    x, collapsed = synthetic(base=0.3)  # no box gets P(collapse) near 10%
    result = dfig.find_boxes(x, collapsed, RANGES)
    assert len(result.trajectory) > 1 and result.trajectory["density"].max() < 0.9
    index, box, how = dfig.pick_box(result, 0.1, "b")
    assert how == "densest" and index == int(result.trajectory["density"].idxmax()) and box.limits


def test_a_prim_threshold_above_the_last_box_loses_the_trajectory():
    # why find_boxes passes the survival share as PRIM's threshold: ema_workbench returns a one-box "dump box"
    x, collapsed = synthetic()
    assert len(prim(x, ~collapsed, threshold=0.999, ranges=RANGES).trajectory) == 1


def test_scatter_pair_prefers_restricted_then_collapse_related_parameters():
    x, collapsed = synthetic()
    box = make_box({"shocks.0.size": {"low": 0.3, "high": 0.7}})
    assert dfig.scatter_pair(box, RANGES, x, collapsed) == ("shocks.0.size", "payment.burn_share")
    whole = make_box(dfig.full_limits(RANGES))
    assert set(dfig.scatter_pair(whole, RANGES, x, collapsed)) == {"shocks.0.size", "payment.burn_share"}


def test_figures_label_their_axes():
    x, collapsed = synthetic()
    result = dfig.find_boxes(x, collapsed, RANGES)
    index, box, _ = dfig.pick_box(result, 0.1, "b")
    fig = dfig.plot_trajectory(result.trajectory, index, box, 0.1)
    assert fig.axes[0].get_xlabel().startswith("coverage") and fig.legends
    fig = dfig.plot_limits(box, RANGES)
    assert len(fig.axes[0].get_yticklabels()) == len(RANGES)
    whole = make_box(dfig.full_limits(RANGES), dropped_restrictions=1)
    assert dfig.plot_limits(whole, RANGES).legends
    fig = dfig.plot_trajectory(result.trajectory, 0, whole, 0.1)  # the dropped-restriction marker is drawn too
    assert any("dropping" in t.get_text() for t in fig.legends[0].get_texts())
    fig = dfig.plot_runs(x, collapsed, box, dfig.scatter_pair(box, RANGES, x, collapsed))
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    estimates = pd.DataFrame([{"label": "a", "p": 0.2, "low": 0.1, "high": 0.3, "n": 50}])
    assert dfig.plot_estimates(estimates, 0.1).axes[0].get_xlim()[1] <= 1.0
    matplotlib.pyplot.close("all")


def test_strongest_lever_and_its_band_plot():
    effects = pd.DataFrame({
        "lever": ["a"] * 4 + ["b"] * 4, "band_low": [0.3, 0.3, 0.6, 0.6] * 2, "band_high": [0.6, 0.6, 0.9, 0.9] * 2,
        "quantile": [0, 1] * 4, "lever_low": [0.0, 0.5] * 4, "lever_high": [0.5, 1.0] * 4, "n": [50] * 8,
        "p_collapse": [0.1, 0.12, 0.5, 0.52, 0.1, 0.1, 0.3, 0.7],
        "p_collapse_low": [0.05] * 8, "p_collapse_high": [0.8] * 8})
    assert dfig.strongest_lever(effects) == "b"
    fig = dfig.plot_lever_bands(effects.assign(lever=effects["lever"].map({"a": "payment.burn_share",
                                                                           "b": "market.liquidity_target_share"})),
                                "market.liquidity_target_share", 0.1)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and len(ax.get_legend().get_texts()) == 3
