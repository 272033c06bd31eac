"""One loader per shipped network-history file (re-exported by :mod:`models.history`; see data/history/README.md).

Every loader takes an optional ``path`` (default: the shipped file) and returns a tidy frame: a ``date``
column (datetime64, timezone-naive, sorted, unique; monthly files dated on the first day of the month) and
float columns whose names carry their units. Empty cells are NaN. A file that does not parse raises
``ValueError`` naming the file and the column (:func:`models.history_parsing.read_table`).

Sources (copied verbatim from ``../shared/data``):

- ``1kx-network/web3infrastructure_tokenomics`` @ 3664690 (no licence file; figures compiled from public
  explorers and CoinGecko): Helium rewards.
- ``protocol/CryptoEconLab`` @ f40f3ae (MIT / Apache-2.0): Filecoin power and reward-actor state.
- ``1kx-network/depin_tokenomics`` @ ff2e881 (the successor of the first; no licence file; public explorers,
  Dune queries, CoinGecko monthly averages): Filecoin supply, Hivemapper, Akash, Bittensor, Render.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.history_parsing import ATTO, BYTES_PER_EIB, HISTORY_DIR, Column, read_table

HELIUM_MONTHLY = HISTORY_DIR / "helium" / "helium_rewards_monthly.csv"
FILECOIN_POWER_DAILY = HISTORY_DIR / "filecoin" / "filecoin_power_daily.csv"
FILECOIN_REWARD_ACTOR_DAILY = HISTORY_DIR / "filecoin" / "filecoin_reward_actor_daily.csv"
FILECOIN_SUPPLY_MONTHLY = HISTORY_DIR / "filecoin" / "filecoin_supply_monthly.csv"
HIVEMAPPER_MONTHLY = HISTORY_DIR / "hivemapper" / "hivemapper_rewards_monthly.csv"
AKASH_MONTHLY = HISTORY_DIR / "akash" / "akash_rewards_monthly.csv"
BITTENSOR_MONTHLY = HISTORY_DIR / "bittensor" / "bittensor_rewards_monthly.csv"
RENDER_MONTHLY = HISTORY_DIR / "render" / "render_rewards_monthly.csv"

C = Column
_HELIUM = (
    C("token rewards total (HNT)", "rewards_total_hnt"),
    C("share hotspots (coverage and validation i.e. no foundes reward, no consensus)", "hotspot_reward_share"),
    C("token rewards hotspots (HNT)", "rewards_hotspots_hnt"),
    C("token rewards hotspots relative to total HNT supply", "rewards_hotspots_share_of_max_supply", "percent"),
    C("$-price", "price_usd"),
    C("token rewards hotspots ($)", "rewards_hotspots_usd"),
    C("# hotspots", "hotspots"),
)
_POWER = (
    C("height", "epoch"),
    C("total_raw_bytes_power_bytes", "raw_power_bytes"),
    C("total_qa_bytes_power_bytes", "qa_power_bytes"),
    C("raw_power_eib", "raw_power_eib"),
    C("qa_power_eib", "qa_power_eib"),
)
_REWARD_ACTOR = (
    C("cum_sum_baseline", "cum_baseline_byte_epochs"),
    C("cum_sum_realized", "cum_realized_byte_epochs"),
    C("new_baseline_power", "baseline_power_bytes"),
    C("effective_baseline_power", "effective_baseline_power_bytes"),
    C("total_mined_reward", "total_mined_attofil"),
    C("effective_network_time", "effective_network_time_epochs"),
)
_FIL_SUPPLY = (
    *(C(f"{k}_fil", f"{k}_fil") for k in ("circulating", "mined", "vested", "locked", "burnt")),
    *(C(f"changed_{k}_fil", f"change_{k}_fil") for k in ("circulating", "mined", "vested", "locked", "burnt")),
    C("avg_price", "price_usd"),
    C("t (epochs)", "epoch"),
    C("cumulative simple minting", "cum_simple_minting_fil"),
    C("Incremental simple minting (FIL)", "simple_minting_fil"),
    C("Incremental baseline minting (FIL)", "baseline_minting_fil"),
    C("unlocked rewards (FIL)", "unlocked_rewards_fil"),
    C("unlocked rewards (relative to total supply)", "unlocked_rewards_share_of_max_supply", "percent"),
    C("unlocked rewards ($)", "unlocked_rewards_usd"),
    C("rewards in BTC", "unlocked_rewards_btc"),
)
_HIVEMAPPER_PROGRAMS = (("map coverage", "map_coverage"), ("bounty", "bounty"), ("burst", "burst"),
                        ("buzz", "buzz"), ("FTM", "ftm"), ("QA (AI trainer)", "qa"))
_HIVEMAPPER = (
    C("coverage rewards", "coverage_rewards_honey"),
    C("price", "price_usd"),
    C("rewards$", "coverage_rewards_usd"),
    C("coverage rewards in BTC", "coverage_rewards_btc"),
    C("map contributors", "map_contributors"),
    *(C(f"{src} rewards", f"{name}_rewards_honey") for src, name in _HIVEMAPPER_PROGRAMS),
    *(C(f"{src} contributors", f"{name}_contributors") for src, name in _HIVEMAPPER_PROGRAMS),
)
_AKASH = (
    C("month_timeline rewards", "month_index"),
    C("Annualized Inflation (Est. APR)", "inflation_apr", "percent"),
    C("AKT Mined (Est.)", "akt_mined"),
    C("AKT Supply (Est.)", "supply_akt"),
    C("Genesis AKT In Circulation (Vested)", "genesis_vested_akt"),
    C("AKT Circulating Supply (Est)", "circulating_est_akt"),
    C("tokenunlock genesis AKT", "genesis_unlock_akt"),
    C("circulating_supply", "circulating_akt"),
    C("onetime mint", "onetime_mint_akt"),
    C("token rewards (AKT) (delta circ_supply - onetime mints)", "rewards_akt"),
    C("annualized inflation from rewards", "rewards_inflation_apr", "percent"),
    C("$-price", "price_usd"),
    C("token rewards ($)", "rewards_usd"),
)
_BITTENSOR = (
    C("Monthcount in analysis", "month_index"),
    C("250000", "tao_issued"),
    C("daily issuance", "daily_issuance_tao"),
    C("cumulative", "cumulative_tao"),
    C("relative", "issued_share_of_max_supply", "percent"),
    C("price", "price_usd"),
    C("$rewards", "rewards_usd"),
    C("rewards in BTC", "rewards_btc"),
    C("nodes", "nodes"),
)
_RENDER = (
    C("node operator rewards + compute client rewards per RNP 006", "rewards_total_render"),
    C("node operator", "node_operator_rewards_render"),
    C("comoute client", "compute_client_rewards_render"),
    C("$ price", "price_usd"),
    C("rewards $", "rewards_usd"),
    C("rewards BTC", "rewards_btc"),
    C("rewards claimed", "rewards_claimed_render"),
    C("# nodes", "nodes"),
    C("comment", "comment", "text"),
)


def helium_monthly(path: str | Path = HELIUM_MONTHLY) -> pd.DataFrame:
    """Helium rewards and hotspots per month, 2019-08-01 .. 2023-04-01 (45 months).

    Provenance: ``1kx-network/web3infrastructure_tokenomics`` @ 3664690, ``helium/csvs/helium_rewards_data.csv``
    (no licence file; compiled from public explorers and CoinGecko), shipped as
    ``helium/helium_rewards_monthly.csv``.

    Columns: ``rewards_total_hnt`` (HNT minted as rewards in the month), ``hotspot_reward_share`` (fraction
    to hotspots, coverage and validation, HIP-20 split: 0.59 .. 0.62), ``rewards_hotspots_hnt`` (HNT),
    ``rewards_hotspots_share_of_max_supply`` (fraction; the source says "of total supply" but its values are
    rewards / the 223 M max supply), ``price_usd`` (monthly average, USD/HNT), ``rewards_hotspots_usd``
    (USD), ``hotspots`` (count).

    Caveats: ``hotspots`` is the monthly average of all *asserted* hotspots, online or not: it counts hardware
    ever onboarded and not yet removed, so it hardly ever falls (it rises every month in this file) and is
    not a count of active providers. ``price_usd`` is set to 0.10 before 2020-04 by the source (an
    assumption of the source: CoinGecko has no HNT price before 2020-04-18). 2023-04 holds about half a
    month of rewards (Helium moved to Solana on 2023-04-18, where this source stops).
    ``rewards_hotspots_usd`` used an unrounded price, so it differs a little from
    ``rewards_hotspots_hnt * price_usd`` (by up to 1%, in 2020-04).
    """
    return read_table(path, "month", "%Y-%m", _HELIUM)


def filecoin_power_daily(path: str | Path = FILECOIN_POWER_DAILY) -> pd.DataFrame:
    """Filecoin network power per day, 2020-10-15 .. 2022-11-07 (754 days, no gaps).

    Provenance: ``protocol/CryptoEconLab`` @ f40f3ae, ``notebooks/baseline_crossing/powers.json``
    (MIT / Apache-2.0), converted from JSON to CSV, shipped as ``filecoin/filecoin_power_daily.csv``.

    Columns: ``epoch`` (chain height of the snapshot; one epoch = 30 s), ``raw_power_bytes`` and
    ``qa_power_bytes`` (raw-byte and quality-adjusted power, bytes), ``raw_power_eib`` and ``qa_power_eib``
    (the same in EiB = bytes / 2^60).

    Caveats: each day's value is a snapshot at 23:59:00-23:59:30 UTC, except the last (2022-11-07), taken at
    19:04 UTC (the file's ``timestamp_utc``, not returned). Quality-adjusted power equals raw power until
    2020-11-29 and pulls away from 2021-10 (verified deals count tenfold): 18.6 against 15.9 EiB at the end.
    """
    return read_table(path, "date", "%Y-%m-%d", _POWER, monthly=False)


def filecoin_reward_actor_daily(path: str | Path = FILECOIN_REWARD_ACTOR_DAILY,
                                drop_initial: bool = True) -> pd.DataFrame:
    """Filecoin reward-actor state per day, 2020-08-26 .. 2022-11-08 (2020-08-24 with ``drop_initial=False``).

    Provenance: ``protocol/CryptoEconLab`` @ f40f3ae,
    ``notebooks/sector_duration_multiplier/offline_info/chain_rewards.csv`` (MIT / Apache-2.0), shipped as
    ``filecoin/filecoin_reward_actor_daily.csv``.

    Columns: ``cum_baseline_byte_epochs`` (integral of the baseline up to the effective network time) and
    ``cum_realized_byte_epochs`` (integral of capped power, min(raw power, baseline)), byte-epochs;
    ``baseline_power_bytes`` (this epoch's baseline b(t), the source's ``new_baseline_power``) and
    ``effective_baseline_power_bytes`` (b at the effective network time), bytes, with ``..._eib`` copies in EiB
    (bytes / 2^60); ``total_mined_attofil`` (cumulative mined reward, attoFIL) and ``total_mined_fil`` (FIL);
    ``effective_network_time_epochs`` (theta of baseline minting, epochs). The source's pandas index columns
    and its ``index`` column (not a chain epoch; it jumps on 2020-09-02) are not returned.

    Args:
        path: the CSV file.
        drop_initial: drop the two initialisation rows (2020-08-24, 2020-08-25). On every later row
            cum_baseline - cum_realized is half an epoch of baseline (0.500 +- 0.003 times
            effective_baseline_power, 805 rows); on these two it is 0.99 and 0.64, and they mine 2,927 and
            47,075 FIL against at least 81,750 FIL on every later day (the chain started at 22:00 UTC on
            2020-08-24).

    Caveats: two protocol upgrades re-base the baseline and are kept (real events, epochs from lotus
    ``build/params_mainnet.go``): Ignition (epoch 94,000, 2020-09-26) lifts b(t) from 1.10 to 2.51 EiB over
    2020-09-26/27; actors v2 (epoch 138,720, 2020-10-12) lifts the effective baseline from 1.03 to 2.40 EiB and
    theta falls by 16,901 epochs. Before Ignition the baseline started from 1 EiB (2^60 bytes). The rows look
    like daily means of per-epoch state (a jump spreads over two rows; the dropped ``index`` is fractional).
    The last day may be partial.
    """
    frame = read_table(path, "date", "%Y-%m-%d", _REWARD_ACTOR, monthly=False)
    if drop_initial:
        frame = frame[frame["date"] >= pd.Timestamp("2020-08-26")].reset_index(drop=True)
    frame = frame.assign(baseline_power_eib=frame["baseline_power_bytes"] / BYTES_PER_EIB,
                         effective_baseline_power_eib=frame["effective_baseline_power_bytes"] / BYTES_PER_EIB,
                         total_mined_fil=frame["total_mined_attofil"] * ATTO)
    order = ["date", "cum_baseline_byte_epochs", "cum_realized_byte_epochs", "baseline_power_bytes",
             "baseline_power_eib", "effective_baseline_power_bytes", "effective_baseline_power_eib",
             "total_mined_attofil", "total_mined_fil", "effective_network_time_epochs"]
    return frame[order]


def filecoin_supply_monthly(path: str | Path = FILECOIN_SUPPLY_MONTHLY) -> pd.DataFrame:
    """Filecoin supply accounts per month, 2020-10-01 .. 2022-11-01 (26 months).

    Provenance: ``1kx-network/depin_tokenomics`` @ ff2e881, ``filecoin/csvs/filecoin_data_rewards.csv``
    (no licence file), cut at 2022-11, shipped as ``filecoin/filecoin_supply_monthly.csv``.

    Columns (FIL unless named otherwise): ``circulating_fil``, ``mined_fil``, ``vested_fil``, ``locked_fil``
    (pledge and locked rewards), ``burnt_fil`` (stocks at the month's end, e.g. 10/31/2020, dated 2020-10-01);
    ``change_*_fil`` (the change over the month); ``price_usd`` (monthly average, USD/FIL); ``epoch`` (the
    source's epoch count at the month's end); ``cum_simple_minting_fil``; ``simple_minting_fil`` and
    ``baseline_minting_fil`` (minted in the month); ``unlocked_rewards_fil``; ``unlocked_rewards_share_of_max_supply``
    (fraction of the 2 B FIL max supply); ``unlocked_rewards_usd``; ``unlocked_rewards_btc``.

    Caveats: in the first row (2020-10) the changes of circulating, vested, locked and burnt FIL equal the
    levels (the source has no previous month); they are not monthly changes.
    """
    return read_table(path, "month", "%m/%d/%Y", _FIL_SUPPLY)


def hivemapper_monthly(path: str | Path = HIVEMAPPER_MONTHLY) -> pd.DataFrame:
    """Hivemapper HONEY rewards and contributors per month, 2022-10-01 .. 2023-09-01 (12 months).

    Provenance: ``1kx-network/depin_tokenomics`` @ ff2e881, ``hivemapper/csvs/hivemapper_rewards_data.csv``
    (no licence file), cut at 2023-09, shipped as ``hivemapper/hivemapper_rewards_monthly.csv``.

    Columns: ``coverage_rewards_honey`` (HONEY), ``price_usd`` (USD/HONEY), ``coverage_rewards_usd``,
    ``coverage_rewards_btc``, ``map_contributors`` (count); per reward type (``map_coverage``, ``bounty``,
    ``burst``, ``buzz``, ``ftm``, ``qa``): ``<type>_rewards_honey`` and ``<type>_contributors``.

    Caveats: ``map_contributors`` are rounded estimates (1,500 .. 3,000) in this period; the price is 0.05
    USD, assumed by the source, before 2023-01; the 2022-10 row precedes the first HONEY mint (2022-11-01,
    Hivemapper docs); the per-type columns are 0 except bounty and burst in 2023-09.
    """
    return read_table(path, "month", "%Y-%m", _HIVEMAPPER)


def akash_monthly(path: str | Path = AKASH_MONTHLY) -> pd.DataFrame:
    """Akash AKT inflation, supply and rewards per month, 2020-09-01 .. 2024-12-01 (52 months).

    Provenance: ``1kx-network/depin_tokenomics`` @ ff2e881, ``akash/csvs/akash_data_rewards.csv`` (no licence
    file), shipped as ``akash/akash_rewards_monthly.csv``.

    Columns: ``month_index`` (the source's month count from 2020-10), ``inflation_apr`` (estimated annualised
    inflation, a fraction: 0.54 in 2020-09 falling to 0.096 in 2024-12), ``akt_mined`` (AKT minted in the
    month, estimate), ``supply_akt`` (estimate), ``genesis_vested_akt`` (genesis AKT vested so far),
    ``circulating_est_akt`` (the source's estimate, vested + mined), ``genesis_unlock_akt`` (genesis AKT
    unlocked in the month), ``circulating_akt`` (reported circulating supply), ``onetime_mint_akt``,
    ``rewards_akt`` (change of circulating supply less one-time mints), ``rewards_inflation_apr`` (fraction),
    ``price_usd`` (monthly average, USD/AKT), ``rewards_usd``.

    Caveats: no provider counts; many cells are empty (price in 2020-09, ``rewards_usd`` from 2023-05,
    ``rewards_akt`` in 2024-11 and 2024-12); some late values are round numbers (estimates).
    """
    return read_table(path, "Date", "%b %Y", _AKASH)


def bittensor_monthly(path: str | Path = BITTENSOR_MONTHLY) -> pd.DataFrame:
    """Bittensor TAO issuance, price and nodes per month, 2021-11-01 .. 2025-01-01 (39 months).

    Provenance: ``1kx-network/depin_tokenomics`` @ ff2e881, ``bittensor/csvs/bittensor_data_rewards.csv``
    (no licence file; its first, empty line dropped), shipped as ``bittensor/bittensor_rewards_monthly.csv``.

    Columns: ``month_index`` (the source's count from 2023-03), ``tao_issued`` (TAO issued in the month; the
    source's header for this column is the number ``250000``, the TAO issued before 2021-11, which
    ``cumulative_tao`` starts from), ``daily_issuance_tao`` (7,200 TAO a day), ``cumulative_tao``,
    ``issued_share_of_max_supply`` (fraction of the 21 M max supply), ``price_usd`` (monthly average, from
    2023-03), ``rewards_usd``, ``rewards_btc``, ``nodes`` (the source's node count, from 2023-03).

    Caveats: ``nodes`` changes definition in 2023-10 (101,395 in 2023-09, 23,063 in 2023-10, ~15,000 after):
    do not read the fall as providers leaving. Up to 2023-03 ``tao_issued`` is days x 7,200; later it is
    measured and a little lower.
    """
    return read_table(path, "Month", "%m/%Y", _BITTENSOR)


def render_monthly(path: str | Path = RENDER_MONTHLY) -> pd.DataFrame:
    """Render rewards, price and nodes per month, 2023-11-01 .. 2025-01-01 (15 months).

    Provenance: ``1kx-network/depin_tokenomics`` @ ff2e881, ``render/csvs/render_rewards_data.csv`` (no
    licence file), shipped as ``render/render_rewards_monthly.csv``.

    Columns: ``rewards_total_render`` (node operator + compute client rewards per RNP-006, RENDER),
    ``node_operator_rewards_render``, ``compute_client_rewards_render`` (empty before 2024-01), ``price_usd``
    (USD/RENDER), ``rewards_usd`` (claimed rewards x price), ``rewards_btc``, ``rewards_claimed_render``,
    ``nodes`` (count), ``comment`` (the source's note, text).

    Caveats: claimed rewards differ from the scheduled total (in 2024-01 512,832 claimed against 285,213);
    ``nodes`` jumps to 2,145 in 2024-01 and 1,108 in 2024-04 from a few hundred.
    """
    return read_table(path, "month", "%Y-%m", _RENDER)
