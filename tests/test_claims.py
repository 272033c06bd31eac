"""Unit tests of models.analysis.claims (notebook 00) on hand-checkable inputs."""

import numpy as np
import pandas as pd
import pytest

from models.analysis import claims
from models.analysis.findings import VERDICTS
from models.params import load_scenario


@pytest.fixture(scope="module")
def storage():
    return load_scenario("params/sectors/storage.yaml")


def test_storage_unit_cost_is_capex_over_life_plus_opex_per_tib(storage):
    p = storage.providers
    cost = claims.storage_unit_cost(storage)
    expected = (p.capex_usd / p.hardware_lifetime_years + p.opex_usd_per_year) / 12 / p.capacity_per_provider
    assert cost["usd_per_tib_month"] == pytest.approx(expected)
    # 150,000 USD over 5 years + 30,000 USD a year, over 1,024 TiB: 60,000 / 12 / 1,024
    assert cost["usd_per_tib_month"] == pytest.approx(60000 / 12 / 1024)
    half = claims.storage_unit_cost(storage, 0.5)
    assert half["usd_per_tib_month"] == pytest.approx(2 * expected)
    with pytest.raises(ValueError):
        claims.storage_unit_cost(storage, 0.0)


def test_thread_price_and_break_even(storage):
    assert claims.thread_price(23.5, 0.78) == pytest.approx(5.17)
    assert claims.cost_over_price(10.0, 5.0) == pytest.approx(2.0)
    need = claims.break_even_utilisation(storage, 5.17)
    assert need == pytest.approx((60000 / 12 / 1024) / 5.17)


def test_storage_variants_switch_off_emission_and_set_the_price(storage):
    v = claims.storage_variants(storage, 0.78)
    assert v["thread price"].payment.service_price_usd == pytest.approx(0.22 * storage.users.alternative_price_usd)
    off = v["thread price, no emission"]
    assert off.emission.schedule == "constant" and off.emission.initial_tokens_per_year == 0.0
    assert v["file"].payment.service_price_usd == storage.payment.service_price_usd


def test_subsidy_ratio_on_a_tiny_frame():
    frame = pd.DataFrame({"sector": ["a"] * 3 + ["b"] * 2, "seed": [0] * 5,
                          "emission_usd": [10.0, 20.0, 30.0, 5.0, 5.0], "revenue_usd": [1.0, 2.0, 3.0, 0.0, 0.0]})
    out = claims.subsidy_ratios(frame).set_index("sector")
    assert out.loc["a", "subsidy_ratio"] == pytest.approx(10.0)
    assert np.isnan(out.loc["b", "subsidy_ratio"])  # no revenue: no ratio


def test_growth_arithmetic():
    target = claims.capture_target(5e12, 0.01)
    assert target == pytest.approx(50e9)
    assert claims.growth_multiple(target, 50e6) == pytest.approx(1000.0)
    assert claims.growth_multiple(1.0, 0.0) == np.inf


def test_filecoin_flows_drop_the_level_row_and_value_at_the_price():
    supply = pd.DataFrame({"date": pd.to_datetime(["2020-10-01", "2020-11-01", "2020-12-01"]),
                           "change_mined_fil": [100.0, 10.0, 20.0], "change_burnt_fil": [50.0, 1.0, 2.0],
                           "price_usd": [9.0, 2.0, 3.0]})
    flows = claims.filecoin_flows(supply)
    assert len(flows) == 2
    assert flows["rewards_usd"].tolist() == [20.0, 60.0]
    assert flows["burn_usd"].tolist() == [2.0, 6.0]


def test_trailing_year_needs_twelve_rows_and_sums_the_last():
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=14, freq="MS"), "x": np.arange(14.0)})
    assert claims.trailing_year(frame, "x")["value"] == pytest.approx(sum(range(2, 14)))
    assert np.isnan(claims.trailing_year(frame.head(11), "x")["value"])


def test_verdict_rules():
    assert claims.verdict_from(True) == "supported"
    assert claims.verdict_from(False) == "not supported"
    found = claims.missing_measures({"f": pd.DataFrame(columns=["date", "burnt_fil"]),
                                     "g": pd.DataFrame(columns=["date", "nodes"])}, ("burn",))
    assert found == {"f": ["burnt_fil"], "g": []}
    assert claims.untestable_unless(found, "supported") == "supported"
    assert claims.untestable_unless({"g": []}, "supported") == "untestable here"
    assert {claims.verdict_from(True), claims.untestable_unless({}, "x")} <= set(VERDICTS)


def test_reward_per_node_and_units():
    frame = pd.DataFrame({"date": pd.to_datetime(["2023-09-01", "2023-10-01", "2023-11-01"]),
                          "rewards_usd": [100.0, 300.0, np.nan], "nodes": [10.0, 3.0, 5.0]})
    out = claims.reward_per_node(frame, since="2023-10-01")
    assert out["usd_per_node_month"].tolist() == [100.0]
    assert claims.units_fundable(1e6, 1e5) == pytest.approx(10.0)


def test_collapse_table_counts_and_wilson():
    outcomes = pd.DataFrame({"sector": ["a"] * 4, "shock": ["s"] * 4, "seed": range(4),
                             "regime": ["collapse", "stall", "collapse", "growth"], "final_ratio": [0.1, 0.9, 0.2, 1.2],
                             "trough": [0.1] * 4, "price_drop": [0.8] * 4, "loop_gain": [0.5, np.nan, 0.3, 0.1]})
    row = claims.collapse_table(outcomes).iloc[0]
    assert row["collapses"] == 2 and row["p_collapse"] == pytest.approx(0.5)
    assert row["p_low"] < 0.5 < row["p_high"]
    assert row["final_ratio"] == pytest.approx(0.55) and row["loop_gain"] == pytest.approx(0.3)
