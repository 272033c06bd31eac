"""Scenario discovery (issue 12): PRIM finds a known box, CART reads the same data, boxes go to disk and back."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from sweep_helpers import BASE

from models.analysis import discovery as sd
from models.experiments.boxes import read_box
from models.experiments.spec import ParameterRange, load_sweep, points
from models.params import ParameterError

RANGES = {"a": ParameterRange(low=0.0, high=1.0), "b": ParameterRange(low=0.0, high=10.0),
          "c": ParameterRange(low=0.0, high=1.0)}


@pytest.fixture(scope="module")
def synthetic():
    """Runs collapse with P = 0.7 except in the box a > 0.6, b < 4, mode bme (P = 0.05); c is noise."""
    rng = np.random.default_rng(3)
    n = 3000
    x = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 10, n), "c": rng.uniform(0, 1, n),
                      "mode": rng.choice(["bme", "fee"], n)})
    inside = (x.a > 0.6) & (x.b < 4) & (x["mode"] == "bme")
    collapsed = rng.uniform(size=n) < np.where(inside, 0.05, 0.7)
    return x, collapsed, inside.to_numpy()


@pytest.fixture(scope="module")
def found(synthetic):
    x, collapsed, _ = synthetic
    result = sd.prim(x, ~collapsed, threshold=0.9, ranges=RANGES)
    return result, result.box(result.choose(0.9), "safe-1", source={"sweep": "synthetic"})


def test_prim_finds_the_known_box(synthetic, found):
    x, collapsed, inside = synthetic
    result, box = found
    assert set(box.limits) == {"a", "b", "mode"}, box.limits  # the noise dimension is dropped (quasi-p)
    assert box.limits["a"]["low"] == pytest.approx(0.6, abs=0.03) and box.limits["a"]["high"] == 1.0
    assert box.limits["b"]["low"] == 0.0 and box.limits["b"]["high"] == pytest.approx(4.0, abs=0.4)
    assert box.limits["mode"] == {"values": ["bme"]}
    member = sd.in_box(x, box.limits)
    overlap = (member & inside).sum() / (member | inside).sum()
    assert overlap > 0.85
    # stats are counted on the data inside the final limits
    assert box.stats["n"] == member.sum() and box.stats["k"] == (member & ~collapsed).sum()
    assert box.stats["p_collapse"] == pytest.approx(collapsed[member].mean())
    assert box.stats["p_collapse_low"] < box.stats["p_collapse"] < box.stats["p_collapse_high"]
    assert box.stats["coverage"] == pytest.approx((member & ~collapsed).sum() / (~collapsed).sum())
    traj = result.trajectory
    assert traj["coverage"].iloc[0] == 1.0 and traj["mass"].iloc[0] == 1.0 and traj["mass"].iloc[-1] < 0.2
    assert traj["density"].iloc[-1] > traj["density"].iloc[0]
    with pytest.raises(ValueError, match="no PRIM box reaches density 1.01"):
        result.choose(1.01)


def test_cart_puts_the_known_box_in_its_safest_leaf(synthetic):
    x, collapsed, inside = synthetic
    rules = sd.cart_rules(x, collapsed, max_depth=3)
    safest = rules.iloc[0]
    assert safest["p_collapse"] < 0.15 and "mode in ['bme']" in safest["rule"]
    assert "a >" in safest["rule"] and "b <=" in safest["rule"]
    for rule in rules["rule"]:  # each feature appears once per rule, its bounds merged
        names = [c.split(" < ")[-1].split(" ")[0] for c in rule.split(" and ")]
        assert len(names) == len(set(names)), rule
    assert rules["n"].sum() == len(x) and rules["p_collapse"].is_monotonic_increasing
    assert (rules["p_collapse_low"] <= rules["p_collapse"]).all()


def test_a_box_file_round_trips_and_a_spec_reads_it_back_as_ranges(tmp_path, found):
    _, box = found
    numeric = sd.Box(name="safe-1", source={"sweep": "t"}, stats=box.stats,
                     limits={"providers.opex_usd_per_year": {"low": 150.0, "high": 250.0},
                             "market.liquidity_usd": {"low": 40000.0, "high": 60000.0}})
    path = sd.write_box(numeric, tmp_path / "boxes" / "safe-1.yaml")
    loaded = read_box(path)
    assert loaded.name == "safe-1" and loaded.limits == numeric.limits and loaded.stats["n"] == box.stats["n"]
    spec_path = tmp_path / "sweep.yaml"
    spec_path.write_text(yaml.safe_dump({
        "name": "inside", "base": str(BASE), "seed": 4, "steps": 70, "overrides": {"shocks": []},
        "sampler": "latin_hypercube", "samples": 16, "box": "boxes/safe-1.yaml",
        "parameters": {"providers.opex_usd_per_year": {"low": 50.0, "high": 400.0},
                       "payment.service_price_usd": {"low": 0.05, "high": 0.35}}}))
    spec = load_sweep(spec_path)
    assert spec.box == str(path.resolve())
    assert (spec.parameters["providers.opex_usd_per_year"].low, spec.parameters["providers.opex_usd_per_year"].high) \
        == (150.0, 250.0)
    assert "market.liquidity_usd" in spec.parameters  # a box dimension the sweep did not sweep is added
    pts = pd.DataFrame(points(spec))
    assert sd.in_box(pts, numeric.limits).all()
    assert pts["payment.service_price_usd"].between(0.05, 0.35).all()
    # a re-test spec: fresh seed, the box file, and every point inside the box
    retest_path = sd.retest_spec(spec.model_copy(update={"box": None}), path, tmp_path / "retest.yaml", 8, seed=5)
    retest = load_sweep(retest_path)
    assert retest.seed == 5 and retest.name == "inside-retest-safe-1" and retest.samples == 8
    assert sd.in_box(pd.DataFrame(points(retest)), numeric.limits).all()
    with pytest.raises(ValueError, match="the re-test would repeat its runs"):
        sd.retest_spec(spec, path, tmp_path / "again.yaml", 8, seed=4)


def test_retest_compares_fresh_runs_with_the_box_interval(found):
    _, box = found
    p = box.stats["p_collapse"]
    fresh = pd.DataFrame({"regime": ["collapse"] * round(p * 1000) + ["stall"] * (1000 - round(p * 1000))})
    check = sd.retest(box, fresh)
    assert check["n"] == 1000 and check["within"] and check["overlap"]
    worse = sd.retest(box, pd.DataFrame({"regime": ["collapse"] * 60 + ["stall"] * 40}))
    assert worse["p_collapse"] == 0.6 and not worse["within"] and not worse["overlap"]


@pytest.mark.parametrize(("box", "message"), [
    ({"kind": "depin-box", "name": "b"}, "limits: .*(required|missing)"),
    ({"kind": "depin-box", "name": "b", "limits": {"x": {"low": 2.0, "high": 1.0}}}, r"limits\.x\.high"),
    ({"kind": "other", "name": "b", "limits": {"x": {"values": [1]}}}, "kind"),
])
def test_bad_box_files_are_refused_with_the_field(tmp_path, box, message):
    path = tmp_path / "box.yaml"
    path.write_text(yaml.safe_dump(box))
    with pytest.raises(ParameterError, match=message):
        read_box(path)


def test_a_sweep_naming_a_missing_or_bad_box_exits_2_with_the_field(tmp_path):
    spec_path = tmp_path / "sweep.yaml"
    spec_path.write_text(yaml.safe_dump({
        "name": "inside", "base": str(BASE), "seed": 4, "sampler": "latin_hypercube", "samples": 4,
        "box": "nowhere.yaml", "parameters": {"providers.opex_usd_per_year": {"low": 50.0, "high": 400.0}}}))
    proc = subprocess.run([sys.executable, "-m", "models.cli", "validate", str(spec_path)], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "box:" in proc.stderr and "nowhere.yaml" in proc.stderr, proc.stderr
    (tmp_path / "nowhere.yaml").write_text(yaml.safe_dump(
        {"kind": "depin-box", "name": "b", "limits": {"providers.opex_usd_per_year": {"values": [-5.0]}}}))
    proc = subprocess.run([sys.executable, "-m", "models.cli", "validate", str(spec_path)], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "providers.opex_usd_per_year" in proc.stderr, proc.stderr


def test_lever_boxes_find_what_a_lever_does_where_the_shock_is_large():
    rng = np.random.default_rng(7)
    n = 4000
    x = pd.DataFrame({"shock": rng.uniform(0, 1, n), "depth": rng.uniform(0, 1, n), "noise": rng.uniform(0, 1, n)})
    # small shocks: safe anyway; large shocks: safe only with a deep pool (depth > 0.7)
    p = np.where(x.shock < 0.5, 0.03, np.where(x.depth > 0.7, 0.05, 0.8))
    collapsed = rng.uniform(size=n) < p
    table = sd.lever_boxes(x, collapsed, ["depth", "noise"], "shock", [0.0, 0.5, 1.0],
                           ranges={"depth": ParameterRange(low=0.0, high=1.0), "noise": ParameterRange(low=0.0,
                                                                                                    high=1.0)})
    assert list(table["low"]) == [0.0, 0.5] and table["n"].sum() == n
    small, large = table.iloc[0], table.iloc[1]
    assert small["p_band"] < 0.1 and small["meets"]
    assert large["p_band"] > 0.4 and large["meets"] and large["p_collapse"] <= 0.1
    assert set(large["limits"]) == {"depth"} and large["limits"]["depth"]["low"] == pytest.approx(0.7, abs=0.05)
    assert large["limits"]["depth"]["high"] == 1.0
    empty = sd.lever_boxes(x.head(50), collapsed[:50], ["depth"], "shock", [0.0, 0.5, 1.0])  # bands under min_runs
    assert empty.empty and "p_band" in empty.columns


def test_lever_effects_split_each_band_by_lever_quantile():
    rng = np.random.default_rng(8)
    n = 2000
    x = pd.DataFrame({"shock": rng.uniform(0, 1, n), "depth": rng.uniform(0, 1, n)})
    collapsed = rng.uniform(size=n) < np.where((x.shock > 0.5) & (x.depth < 0.5), 0.8, 0.05)
    table = sd.lever_effects(x, collapsed, ["depth"], "shock", [0.0, 0.5, 1.0], quantiles=2)
    assert len(table) == 4 and table["n"].sum() == n
    large = table[table.band_low == 0.5].set_index("quantile")
    assert large.loc[0, "p_collapse_low"] > large.loc[1, "p_collapse_high"]  # the shallow half collapses
    assert large.loc[0, "lever_high"] <= large.loc[1, "lever_low"] and abs(large.loc[0, "lever_high"] - 0.5) < 0.05
    small = table[table.band_low == 0.0]
    assert (small["p_collapse"] < 0.12).all()
