"""Replaying a real price path: the price held to the series at every step date, on every engine.

Also the bad inputs of ``depin replay`` (missing file, columns, dates outside the series) and the exact
arbitrage trade that holds the path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import replay
from models.mechanisms import amm
from models.params import with_overrides

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "params" / "base.yaml"


def depin(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "models.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def random_prices(seed: int, start: str, periods: int, freq: str, sigma: float = 0.15) -> pd.Series:
    """A fat-tailed random walk of prices from 0.04 USD."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=periods, freq=freq, name="date")
    return pd.Series(0.04 * np.exp(np.cumsum(rng.standard_t(3, periods) * sigma)), index=dates, name="price_usd")


@pytest.fixture(scope="module")
def dated_base(base_scenario):
    return with_overrides(base_scenario, {"simulation.start_date": "2021-01-01"})


@pytest.mark.parametrize("engine", ["batch", "cadcad", "abm"])
def test_replay_holds_the_price_to_the_series_at_every_step_date(dated_base, engine):
    prices = random_prices(3, "2020-12-15", 30, "MS")  # monthly, so most steps fall between two values
    steps = 40 if engine == "abm" else 80
    end = pd.Timestamp("2021-01-01") + pd.Timedelta(days=7 * steps)
    frame, replayed = replay.replay(dated_base, prices, engine=engine, end=end)
    assert replayed.simulation.steps == steps
    assert list(frame["date"]) == list(replay.step_dates("2021-01-01", 7, steps))
    expected = replay.price_at(prices, frame["date"])
    np.testing.assert_allclose(frame["price"].to_numpy(), expected, rtol=1e-9, atol=0)
    # interpolation is linear in time between the series' dates: check one step against a hand computation
    k = 10
    when = pd.Timestamp("2021-01-01") + pd.Timedelta(days=7 * k)
    before, after = prices.index[prices.index <= when][-1], prices.index[prices.index > when][0]
    share = (when - before) / (after - before)
    assert frame["price"].iloc[k] == pytest.approx(prices[before] + share * (prices[after] - prices[before]),
                                                   rel=1e-12)


def test_replay_of_daily_history_starts_at_the_series_and_follows_the_end(dated_base):
    prices = random_prices(0, "2021-01-01", 400, "D", sigma=0.06)  # HNT: about 6% a day
    frame, replayed = replay.replay(dated_base, prices)
    assert replayed.simulation.steps == 399 // 7  # whole weeks up to the series' last day
    assert replayed.market.initial_price_usd == pytest.approx(prices.iloc[0], rel=1e-15)
    assert replay.path_gap(frame, prices) < 1e-9
    # the arbitrageur is a named actor with a stated inventory, and the shock reports how well it did
    (shock,) = [s for s in replayed.shocks if s.type == "price_path"]
    assert shock.path_unit == "usd" and shock.inventory_tokens > 0


def test_a_path_the_arbitrageur_cannot_hold_is_reported_not_hidden(dated_base):
    from models.analysis.shocks import shock_outcomes

    dates = pd.date_range("2021-01-01", periods=200, freq="D", name="date")
    prices = pd.Series(0.04 * np.exp(-np.linspace(0, np.log(1e4), 200)), index=dates)  # down 99.99%
    frame, replayed = replay.replay(dated_base, prices)
    assert replay.path_gap(frame, prices) > 0.01
    (outcome,) = shock_outcomes(frame, replayed, (0,))
    assert outcome["warning"] and "could not push the price down" in outcome["warning"]


def test_replay_keeps_the_scenarios_own_shocks(crash_scenario):
    dated = with_overrides(crash_scenario, {"simulation.start_date": "2021-01-01"})
    prices = random_prices(7, "2021-01-01", 600, "D")
    replayed = replay.replay_scenario(dated, prices)
    assert [s.type for s in replayed.shocks] == ["price_crash", "price_path"]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2019-01-01", None, "--start 2019-01-01 is outside the series"),
        (None, "2030-01-01", "--end 2030-01-01 is outside the series"),
        ("2021-03-01", "2021-02-01", "is not after the start"),
        ("2021-03-01", "2021-03-03", "shorter than one step"),
        ("yesterday-ish", None, "not a date"),
    ],
)
def test_replay_refuses_dates_it_cannot_replay(dated_base, start, end, message):
    prices = random_prices(1, "2021-01-01", 100, "D")
    with pytest.raises(replay.ReplayInputError, match=message):
        replay.replay_scenario(dated_base, prices, start, end, "prices.csv")


def test_undated_scenario_needs_a_start(base_scenario):
    with pytest.raises(replay.ReplayInputError, match="no simulation.start_date; give --start"):
        replay.replay_scenario(base_scenario, random_prices(1, "2021-01-01", 100, "D"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,value\n2021-01-01,1\n2021-01-02,2\n", "no date column"),
        ("date,value\n2021-01-01,1\n2021-01-02,2\n", "no price column"),
        ("date,price\n2021-01-01,1\nnot-a-date,2\n", "row 3: 'not-a-date' is not a date"),
        ("date,price\n2021-01-01,1\n2021-01-02,-2\n", "row 3: '-2' is not a positive price"),
        ("date,price\n2021-01-01,1\n2021-01-01,2\n", "appears more than once"),
        ("date,price\n2021-01-01,1\n", "at least two dates"),
    ],
)
def test_bad_price_files_are_refused_with_file_column_and_row(tmp_path, text, message):
    path = tmp_path / "prices.csv"
    path.write_text(text)
    with pytest.raises(replay.ReplayInputError, match=message) as info:
        replay.read_price_csv(path)
    assert str(path) in str(info.value)


def test_price_columns_are_found_or_named(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text('month,"$-price",other\n2021-01,"$1,200.5",x\n2021-02,3,y\n')
    series = replay.read_price_csv(path)
    assert list(series) == [1200.5, 3.0] and series.index[0] == pd.Timestamp("2021-01-01")
    path.write_text("day_utc,close_usd\n2021-01-01 00:00:00 UTC,2\n2021-01-02 00:00:00 UTC,3\n")
    series = replay.read_price_csv(path, date_column="day_utc", price_column="close_usd")
    assert list(series) == [2.0, 3.0]


def test_cli_replay_writes_dated_outputs(tmp_path):
    scenario_file = tmp_path / "dated.yaml"
    scenario_file.write_text(BASE.read_text().replace("simulation: {", "simulation: {start_date: 2021-01-01, "))
    prices = random_prices(11, "2021-01-01", 200, "D")
    prices.to_frame().to_csv(tmp_path / "prices.csv")
    out = tmp_path / "out"
    result = depin("replay", str(scenario_file), "--price", str(tmp_path / "prices.csv"), "--end", "2021-06-01",
                   "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(out / "timeseries.parquet")
    assert frame["date"].iloc[0] == pd.Timestamp("2021-01-01") and frame["date"].iloc[-1] <= pd.Timestamp("2021-06-01")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replay"]["max_relative_price_gap"] < 1e-9
    assert summary["steps"] == len(frame) - 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--price", "missing.csv"], "price file not found"),
        (["--price", "prices.csv", "--price-column", "close"], "--price-column 'close': no such column"),
        (["--price", "prices.csv", "--start", "2010-01-01"], "--start 2010-01-01 is outside the series"),
    ],
)
def test_cli_replay_bad_input_exits_2_and_writes_nothing(tmp_path, extra, message):
    scenario_file = tmp_path / "dated.yaml"
    scenario_file.write_text(BASE.read_text().replace("simulation: {", "simulation: {start_date: 2021-01-01, "))
    random_prices(2, "2021-01-01", 60, "D").to_frame().to_csv(tmp_path / "prices.csv")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = depin("replay", str(scenario_file), *extra, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("rel", [0.05, 0.7, 1.0, 1.3, 25.0])
@pytest.mark.parametrize("fee", [0.0, 0.003, 0.05])
def test_exact_trade_lands_on_the_target_with_the_fee(rel, fee):
    x, y = 1e6, 3e4
    target = amm.price(x, y) * rel
    d_tok, d_usd, x1, y1 = amm.trade_to_price_exact(x, y, target, fee, np.inf, np.inf)
    assert amm.price(x1, y1) == pytest.approx(target, rel=1e-12)
    assert (d_tok > 0) == (rel > 1) and (d_tok == 0) == (rel == 1.0)
    # holdings cap the trade: with half the tokens it needs, the seller stops short
    if rel < 1:
        _, _, x2, y2 = amm.trade_to_price_exact(x, y, target, fee, -d_tok / 2, 0.0)
        assert amm.price(x2, y2) > target * (1 + 1e-6)
