"""The shipped network history (models.history): every dataset loads tidy, values match the raw CSV text."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest

from models import history
from models.history import DATASETS, hnt_price_daily, hnt_price_for_replay, load
from models.history_parsing import Column, read_table

COINGECKO = ["date", "price_usd", "market_cap_usd", "volume_usd"]
COLUMNS = {
    "helium_monthly": ["date", "rewards_total_hnt", "hotspot_reward_share", "rewards_hotspots_hnt",
                       "rewards_hotspots_share_of_max_supply", "price_usd", "rewards_hotspots_usd", "hotspots"],
    "hnt_price_daily": COINGECKO,
    "filecoin_power_daily": ["date", "epoch", "raw_power_bytes", "qa_power_bytes", "raw_power_eib", "qa_power_eib"],
    "filecoin_reward_actor_daily": [
        "date", "cum_baseline_byte_epochs", "cum_realized_byte_epochs", "baseline_power_bytes",
        "baseline_power_eib", "effective_baseline_power_bytes", "effective_baseline_power_eib",
        "total_mined_attofil", "total_mined_fil", "effective_network_time_epochs"],
    "fil_price_daily": COINGECKO,
    "filecoin_supply_monthly": [
        "date", "circulating_fil", "mined_fil", "vested_fil", "locked_fil", "burnt_fil", "change_circulating_fil",
        "change_mined_fil", "change_vested_fil", "change_locked_fil", "change_burnt_fil", "price_usd", "epoch",
        "cum_simple_minting_fil", "simple_minting_fil", "baseline_minting_fil", "unlocked_rewards_fil",
        "unlocked_rewards_share_of_max_supply", "unlocked_rewards_usd", "unlocked_rewards_btc"],
    "hivemapper_monthly": [
        "date", "coverage_rewards_honey", "price_usd", "coverage_rewards_usd", "coverage_rewards_btc",
        "map_contributors", *(f"{k}_rewards_honey" for k in ("map_coverage", "bounty", "burst", "buzz", "ftm", "qa")),
        *(f"{k}_contributors" for k in ("map_coverage", "bounty", "burst", "buzz", "ftm", "qa"))],
    "akash_monthly": [
        "date", "month_index", "inflation_apr", "akt_mined", "supply_akt", "genesis_vested_akt",
        "circulating_est_akt", "genesis_unlock_akt", "circulating_akt", "onetime_mint_akt", "rewards_akt",
        "rewards_inflation_apr", "price_usd", "rewards_usd"],
    "bittensor_monthly": ["date", "month_index", "tao_issued", "daily_issuance_tao", "cumulative_tao",
                          "issued_share_of_max_supply", "price_usd", "rewards_usd", "rewards_btc", "nodes"],
    "render_monthly": ["date", "rewards_total_render", "node_operator_rewards_render",
                       "compute_client_rewards_render", "price_usd", "rewards_usd", "rewards_btc",
                       "rewards_claimed_render", "nodes", "comment"],
}
# name: (first date, last date, rows), read off the files
RANGES = {
    "helium_monthly": ("2019-08-01", "2023-04-01", 45),
    "hnt_price_daily": ("2020-04-18", "2023-06-13", 1152),
    "filecoin_power_daily": ("2020-10-15", "2022-11-07", 754),
    "filecoin_reward_actor_daily": ("2020-08-26", "2022-11-08", 805),
    "fil_price_daily": ("2020-10-15", "2022-11-07", 754),
    "filecoin_supply_monthly": ("2020-10-01", "2022-11-01", 26),
    "hivemapper_monthly": ("2022-10-01", "2023-09-01", 12),
    "akash_monthly": ("2020-09-01", "2024-12-01", 52),
    "bittensor_monthly": ("2021-11-01", "2025-01-01", 39),
    "render_monthly": ("2023-11-01", "2025-01-01", 15),
}
TEXT_COLUMNS = {"comment"}


@pytest.fixture(scope="module")
def frames():
    return {name: load(name) for name in DATASETS}


def test_registry_lists_every_dataset():
    assert set(DATASETS) == set(COLUMNS)
    for name, ds in DATASETS.items():
        assert ds.name == name and ds.path.is_file(), name
        assert (ds.first, ds.last) == RANGES[name][:2]
        assert ds.frequency in {"daily", "monthly"} and ds.units
    with pytest.raises(TypeError):
        DATASETS["x"] = DATASETS["helium_monthly"]  # read-only
    with pytest.raises(ValueError, match="unknown history dataset 'nope'.*helium_monthly"):
        load("nope")


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_dataset_is_tidy(frames, name):
    frame = frames[name]
    first, last, rows = RANGES[name]
    assert list(frame.columns) == COLUMNS[name]
    assert pd.api.types.is_datetime64_dtype(frame["date"]) and frame["date"].dt.tz is None
    assert frame["date"].is_monotonic_increasing and frame["date"].is_unique
    assert (frame["date"].iloc[0], frame["date"].iloc[-1], len(frame)) == (pd.Timestamp(first), pd.Timestamp(last),
                                                                            rows)
    assert list(frame.index) == list(range(rows))
    for column in frame.columns.drop("date"):
        if column not in TEXT_COLUMNS:
            assert pd.api.types.is_float_dtype(frame[column]), (name, column)
    if DATASETS[name].frequency == "monthly":
        assert (frame["date"].dt.day == 1).all()
        assert (frame["date"].diff().dropna() <= pd.Timedelta(days=31)).all()  # no missing month
    else:
        assert (frame["date"].diff().dropna() == pd.Timedelta(days=1)).all()


def _raw_cell(name: str, key: str, column: str) -> str:
    with DATASETS[name].path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for row in reader:
            if row and row[0 if name != "filecoin_power_daily" else 1] == key:
                return row[header.index(column)]
    raise AssertionError(f"{key} not in {name}")


# dataset, date cell in the file, source column, raw text, tidy date, tidy column, parsed value
SPOTS = [
    ("helium_monthly", "2021-11", "# hotspots", "320,761", "2021-11-01", "hotspots", 320761),
    ("helium_monthly", "2019-8", "token rewards total (HNT)", "1,123,922.92", "2019-08-01", "rewards_total_hnt",
     1123922.92),
    ("helium_monthly", "2021-11", "token rewards hotspots relative to total HNT supply", "0.61%", "2021-11-01",
     "rewards_hotspots_share_of_max_supply", 0.0061),
    ("helium_monthly", "2021-11", "$-price", "41.32", "2021-11-01", "price_usd", 41.32),
    ("akash_monthly", "Sep 2020", "Annualized Inflation (Est. APR)", "54.00%", "2020-09-01", "inflation_apr", 0.54),
    ("akash_monthly", "Dec 2024", "Annualized Inflation (Est. APR)", "9.59%", "2024-12-01", "inflation_apr", 0.0959),
    ("akash_monthly", "Oct 2020", "token rewards ($)", "1,247,905.58", "2020-10-01", "rewards_usd", 1247905.58),
    ("akash_monthly", "Sep 2020", "$-price", "", "2020-09-01", "price_usd", math.nan),
    ("filecoin_supply_monthly", "10/31/2020", "circulating_fil", "20,978,960", "2020-10-01", "circulating_fil",
     20978960),
    ("filecoin_supply_monthly", "10/31/2022", "changed_locked_fil", "-487,461", "2022-10-01", "change_locked_fil",
     -487461),
    ("filecoin_supply_monthly", "11/30/2022", "unlocked rewards (relative to total supply)", "0.43%", "2022-11-01",
     "unlocked_rewards_share_of_max_supply", 0.0043),
    ("hivemapper_monthly", "2023-09", "coverage rewards", "19,506,365.50", "2023-09-01", "coverage_rewards_honey",
     19506365.5),
    ("hivemapper_monthly", "2023-09", "rewards$", "$249,060", "2023-09-01", "coverage_rewards_usd", 249060),
    ("hivemapper_monthly", "2022-10", "map contributors", "1,500", "2022-10-01", "map_contributors", 1500),
    ("hivemapper_monthly", "2023-09", "bounty contributors", "533", "2023-09-01", "bounty_contributors", 533),
    ("bittensor_monthly", "11/2021", "250000", "64,800", "2021-11-01", "tao_issued", 64800),
    ("bittensor_monthly", "10/2023", "nodes", "23,063", "2023-10-01", "nodes", 23063),
    ("bittensor_monthly", "01/2025", "cumulative", "8,383,490", "2025-01-01", "cumulative_tao", 8383490),
    ("render_monthly", "2024-2", "$ price", "$5.63", "2024-02-01", "price_usd", 5.63),
    ("render_monthly", "2024-2", "rewards $", "$1,798,727", "2024-02-01", "rewards_usd", 1798727),
    ("render_monthly", "2024-01", "node operator", "190142", "2024-01-01", "node_operator_rewards_render", 190142),
    ("render_monthly", "2023-11", "comoute client", "", "2023-11-01", "compute_client_rewards_render", math.nan),
    ("filecoin_power_daily", "2022-11-07", "raw_power_eib", "15.907265600231813", "2022-11-07", "raw_power_eib",
     15.907265600231813),
]


@pytest.mark.parametrize(("name", "key", "source", "text", "date", "column", "value"), SPOTS)
def test_values_match_the_raw_csv(frames, name, key, source, text, date, column, value):
    assert _raw_cell(name, key, source) == text
    got = frames[name].set_index("date").loc[pd.Timestamp(date), column]
    if math.isnan(value):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(value, rel=1e-12)


def test_particular_values(frames):
    render = frames["render_monthly"].set_index("date")
    assert render.loc["2024-06-01", "comment"] == "RNP 13 in effect" and pd.isna(render.loc["2024-01-01", "comment"])
    hnt = frames["hnt_price_daily"]
    assert hnt["price_usd"].iloc[0] == pytest.approx(0.1293653477164651) and hnt["market_cap_usd"].iloc[0] == 0.0
    assert np.allclose(hnt.set_index("date")["price_usd"], hnt_price_daily())
    power = frames["filecoin_power_daily"]
    assert np.allclose(power["raw_power_bytes"] / 2.0**60, power["raw_power_eib"])
    actor = frames["filecoin_reward_actor_daily"]
    assert np.allclose(actor["total_mined_attofil"] * 1e-18, actor["total_mined_fil"])
    assert np.allclose(actor["baseline_power_bytes"] / 2.0**60, actor["baseline_power_eib"])
    gap = (actor["cum_baseline_byte_epochs"] - actor["cum_realized_byte_epochs"]) / actor[
        "effective_baseline_power_bytes"]
    assert gap.between(0.45, 0.55).all()  # the steady state that justifies dropping the first two rows
    helium = frames["helium_monthly"]
    assert (helium["hotspots"].diff().dropna() > 0).all()  # asserted hotspots: hardware onboarded, never falls here
    assert (helium.loc[helium["date"] < "2020-04-01", "price_usd"] == 0.10).all()
    assert np.allclose(helium["rewards_hotspots_share_of_max_supply"], helium["rewards_hotspots_hnt"] / 223e6,
                       atol=1e-4)
    tao = frames["bittensor_monthly"]
    assert np.allclose(tao["cumulative_tao"], 250_000 + tao["tao_issued"].cumsum())


def test_reward_actor_initial_rows_can_be_kept():
    full = history.filecoin_reward_actor_daily(drop_initial=False)
    assert len(full) == 807 and str(full["date"].iloc[0].date()) == "2020-08-24"
    assert full["total_mined_fil"].iloc[0] == pytest.approx(2927.143369668359)


def test_hnt_price_for_replay():
    path = hnt_price_for_replay()
    daily = hnt_price_daily()
    assert path.name == "price_usd" and path.index.name == "date" and path.index.tz is None
    assert path.index.is_monotonic_increasing and path.index.is_unique
    assert path.index[0] == pd.Timestamp("2019-08-01") and path.index[-1] == pd.Timestamp("2023-06-13")
    assert path.index.to_series().diff().max() <= pd.Timedelta(days=31)
    assert np.array_equal(path.loc[path.index >= daily.index[0]].to_numpy(), daily.to_numpy())
    assert np.array_equal(path.loc[path.index >= daily.index[0]].index, daily.index)
    early = path[path.index < daily.index[0]]
    assert list(early.index.day[1:]) == [15] * (len(early) - 1) and early.index[-1] == pd.Timestamp("2020-04-15")
    assert (early[early.index < "2020-04-01"] == 0.10).all() and early.iloc[-1] == pytest.approx(0.17)


LOADERS = {
    "helium_monthly": (history.helium_monthly, "month", "# hotspots"),
    "filecoin_power_daily": (history.filecoin_power_daily, "date", "raw_power_eib"),
    "filecoin_reward_actor_daily": (history.filecoin_reward_actor_daily, "date", "total_mined_reward"),
    "filecoin_supply_monthly": (history.filecoin_supply_monthly, "month", "locked_fil"),
    "hivemapper_monthly": (history.hivemapper_monthly, "month", "map contributors"),
    "akash_monthly": (history.akash_monthly, "Date", "Annualized Inflation (Est. APR)"),
    "bittensor_monthly": (history.bittensor_monthly, "Month", "nodes"),
    "render_monthly": (history.render_monthly, "month", "# nodes"),
    "hnt_price_daily": (history.read_coingecko_frame, "snapped_at", "market_cap"),
}


def _broken_copy(tmp_path, name, change):
    with DATASETS[name].path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    change(rows)
    path = tmp_path / f"broken_{name}.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_malformed_copies_raise_with_file_and_column(tmp_path, name):
    loader, date_column, column = LOADERS[name]

    def drop_column(rows):
        rows[0][rows[0].index(column)] = "renamed"

    def bad_date(rows):
        rows[3][rows[0].index(date_column)] = "notadate"

    path = _broken_copy(tmp_path, name, drop_column)
    with pytest.raises(ValueError, match="missing column") as info:
        loader(path)
    assert path.name in str(info.value) and column in str(info.value)
    path = _broken_copy(tmp_path, name, bad_date)
    with pytest.raises(ValueError, match="not a date") as info:
        loader(path)
    assert path.name in str(info.value) and date_column in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("month,$-price,# hotspots\n2020-1,1.0,\"1,0x0\"\n", r"column '# hotspots'.*'1,0x0' \(row 2\)"),
        ("month,$-price,# hotspots\n2020-1,1.0,10\n2020-01,2.0,11\n", "2020-01-01 appears more than once"),
        ("month,$-price,# hotspots\n", "no rows"),
        ("month,$-price,# hotspots\n,1.0,10\n", "not a date"),
    ],
)
def test_bad_cells_raise(tmp_path, text, message):
    path = tmp_path / "tiny.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        read_table(path, "month", "%Y-%m", (Column("$-price", "price_usd"), Column("# hotspots", "hotspots")))
    assert "tiny.csv" in str(info.value)


def test_percent_column_requires_percent_signs(tmp_path):
    path = tmp_path / "akash.csv"
    text = DATASETS["akash_monthly"].path.read_text().replace("54.00%", "0.54", 1)
    path.write_text(text)
    with pytest.raises(ValueError, match=r"akash.csv: column 'Annualized Inflation \(Est. APR\)'.*percentages"):
        history.akash_monthly(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        history.helium_monthly(tmp_path / "nope.csv")


def test_thousands_dollars_and_blank_cells(tmp_path):
    path = tmp_path / "render.csv"
    path.write_text('month,node operator rewards + compute client rewards per RNP 006,node operator,comoute client,'
                    'comment,$ price,rewards $,rewards BTC,rewards claimed,# nodes\n'
                    '2024-3,"1,000",, ,x,$2.50,"$-1,250.5",,0,7\n2024-01,2,,,, $1 ,,,,\n')
    frame = history.render_monthly(path)
    assert list(frame["date"]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01")]
    assert frame["rewards_total_render"].tolist() == [2.0, 1000.0]
    assert frame["rewards_usd"].iloc[1] == -1250.5 and frame["price_usd"].tolist() == [1.0, 2.5]
    assert frame["compute_client_rewards_render"].isna().all() and frame["comment"].isna().iloc[0]
