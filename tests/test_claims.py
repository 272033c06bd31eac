"""Unit tests of models.analysis.claims (notebook 00) on hand-checkable inputs."""

import numpy as np
import pandas as pd
import pytest

from models.analysis import claims, claims_data
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
    flows = claims_data.filecoin_flows(supply)
    assert len(flows) == 2
    assert flows["rewards_usd"].tolist() == [20.0, 60.0]
    assert flows["burn_usd"].tolist() == [2.0, 6.0]


def test_trailing_year_needs_twelve_rows_and_sums_the_last():
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=14, freq="MS"), "x": np.arange(14.0)})
    assert claims_data.trailing_year(frame, "x")["value"] == pytest.approx(sum(range(2, 14)))
    assert np.isnan(claims_data.trailing_year(frame.head(11), "x")["value"])


def test_verdict_rules():
    assert claims.verdict_from(True) == "supported"
    assert claims.verdict_from(False) == "not supported"
    found = claims_data.find_measures({"f": pd.DataFrame(columns=["date", "burnt_fil"]),
                                  "g": pd.DataFrame(columns=["date", "nodes"])}, claims_data.BURN_MEASURES)
    assert found == {"f": ["burnt_fil"], "g": []}
    assert claims_data.untestable_unless({"g": []}) == "untestable here"
    assert claims_data.untestable_unless({}) in VERDICTS
    with pytest.raises(LookupError):  # a measure that could test the claim needs a test, not a verdict
        claims_data.untestable_unless(found)


def test_measures_match_whole_words_not_substrings():
    frame = pd.DataFrame(columns=["timestamp", "tam_usd", "gpus_active", "active_providers", "gpu_utilization",
                                  "output_quality_score", "subnet_market_size_usd", "marketsize"])
    def hit(patterns):
        return claims_data.find_measures({"f": frame}, patterns)["f"]
    assert hit(("tam",)) == ["tam_usd"]  # not "timestamp"
    assert hit(("market_size",)) == ["subnet_market_size_usd"]  # a two-word measure, in a row
    assert hit(claims_data.GPU_MEASURES) == ["gpus_active", "active_providers", "gpu_utilization"]
    assert hit(claims_data.RESEARCH_MEASURES) == ["output_quality_score"]
    # the shipped files hold none of the measures claims 5 to 7 need
    from models import history
    frames = {name: history.load(name) for name in history.DATASETS}
    assert not any(claims_data.find_measures(frames, claims_data.INDUSTRY_MEASURES).values())
    assert not claims_data.find_measures({"a": frames["akash_monthly"]}, claims_data.GPU_MEASURES)["a"]
    assert not claims_data.find_measures({"b": frames["bittensor_monthly"]}, claims_data.RESEARCH_MEASURES)["b"]


def test_verified_deal_share_from_quality_adjusted_power():
    power = pd.DataFrame({"date": pd.to_datetime(["2022-01-01", "2022-01-02"]),
                          "raw_power_bytes": [100.0, 100.0], "qa_power_bytes": [100.0, 118.0]})
    out = claims_data.verified_deal_share(power)
    assert out["share"] == pytest.approx(0.02)  # 18 extra QA bytes = 2 verified bytes counted 10x
    assert out["date"] == pd.Timestamp("2022-01-02")


def test_provider_subsidy_and_margin():
    table = pd.DataFrame({"subsidy_ratio": [10.0, 4.0]}, index=pd.Index(["a", "b"], name="sector"))
    out = claims.provider_subsidy(table, {"a": 0.5, "b": 0.0})
    assert out["provider_subsidy"].tolist() == [5.0, 0.0]
    assert claims.margin_share(50.0, 15.0) == pytest.approx(0.7)
    assert claims.margin_share(10.0, 15.0) == 0.0


def test_reward_per_node_and_units():
    frame = pd.DataFrame({"date": pd.to_datetime(["2023-09-01", "2023-10-01", "2023-11-01"]),
                          "rewards_usd": [100.0, 300.0, np.nan], "nodes": [10.0, 3.0, 5.0]})
    out = claims_data.reward_per_node(frame, since="2023-10-01")
    assert out["usd_per_node_month"].tolist() == [100.0]
    assert claims_data.units_fundable(1e6, 1e5) == pytest.approx(10.0)


def test_collapse_table_counts_and_wilson():
    outcomes = pd.DataFrame({"sector": ["a"] * 4, "shock": ["s"] * 4, "seed": range(4),
                             "regime": ["collapse", "stall", "collapse", "growth"], "final_ratio": [0.1, 0.9, 0.2, 1.2],
                             "trough": [0.1] * 4, "price_drop": [0.8] * 4, "loop_gain": [0.5, np.nan, 0.3, 0.1]})
    row = claims.collapse_table(outcomes).iloc[0]
    assert row["collapses"] == 2 and row["p_collapse"] == pytest.approx(0.5)
    assert row["p_low"] < 0.5 < row["p_high"]
    assert row["final_ratio"] == pytest.approx(0.55) and row["loop_gain"] == pytest.approx(0.3)
