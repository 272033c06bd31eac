"""The real DePIN history shipped in ``data/history/`` as tidy DataFrames with dates and units.

Provenance, columns and caveats of every file are in ``data/history/README.md`` and in each loader's
docstring. One loader per file (``DATASETS`` lists them; ``load(name)`` returns any as a frame):

- Helium: :func:`helium_monthly` (rewards, hotspots, monthly price), :func:`hnt_price_daily` (CoinGecko),
  :func:`hnt_price_for_replay` (both prices joined, 2019-08-01 .. 2023-06-13).
- Filecoin: :func:`filecoin_power_daily`, :func:`filecoin_reward_actor_daily`, :func:`filecoin_supply_monthly`,
  :func:`fil_price_daily` (CoinGecko).
- Hivemapper, Akash, Bittensor, Render: :func:`hivemapper_monthly`, :func:`akash_monthly`,
  :func:`bittensor_monthly`, :func:`render_monthly`.

The CoinGecko exports (``helium/hnt_usd_daily.csv``: ``1kx-network/web3infrastructure_tokenomics`` @ 3664690,
``helium/csvs/hnt-usd-max.csv``, 2020-04-18 .. 2023-06-13; ``filecoin/fil_usd_daily.csv``: same repository,
``filecoin/csvs/fil-usd-max.csv``, cut at 2022-11-07, 2020-10-15 .. 2022-11-07) have columns
``snapped_at,price,market_cap,total_volume``; ``snapped_at`` is a daily 00:00 UTC snapshot written as
``2020-04-18 00:00:00 UTC``. Prices are returned as they are in the files (no cleaning): note that FIL's first
two days carry the same price (a listing-day artefact) and HNT's market cap is 0 in the first months
(CoinGecko had no supply figure then).

Nothing here touches the network or keeps state: every call reads its file again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from models.history_loaders import (
    akash_monthly,
    bittensor_monthly,
    filecoin_power_daily,
    filecoin_reward_actor_daily,
    filecoin_supply_monthly,
    helium_monthly,
    hivemapper_monthly,
    render_monthly,
)
from models.history_parsing import HISTORY_DIR

__all__ = [
    "DATASETS", "FIL_USD_DAILY", "HISTORY_DIR", "HNT_USD_DAILY", "Dataset", "akash_monthly", "bittensor_monthly",
    "fil_price_daily", "filecoin_power_daily", "filecoin_reward_actor_daily", "filecoin_supply_monthly",
    "helium_monthly", "hivemapper_monthly", "hnt_price_daily", "hnt_price_for_replay", "load",
    "read_coingecko_daily", "read_coingecko_frame", "render_monthly",
]

HNT_USD_DAILY = HISTORY_DIR / "helium" / "hnt_usd_daily.csv"
FIL_USD_DAILY = HISTORY_DIR / "filecoin" / "fil_usd_daily.csv"


def _read_coingecko(path: Path, extra: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The validated raw frame, dates (naive UTC days) and prices of a CoinGecko export, in file order."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: price history file not found (expected under {HISTORY_DIR})")
    try:
        raw = pd.read_csv(path, thousands=",")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in ("snapped_at", "price", *extra) if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, raw.columns))}")
    if raw.empty:
        raise ValueError(f"{path}: no rows")
    text = raw["snapped_at"].astype(str).str.strip()
    try:
        dates = pd.to_datetime(text, utc=True, format="%Y-%m-%d %H:%M:%S UTC")  # CoinGecko's own form, fast
    except (ValueError, TypeError):
        try:
            dates = pd.to_datetime(text, utc=True, format="mixed")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: column snapped_at has a value that is not a date ({exc})") from exc
    dates = dates.dt.tz_localize(None)
    if (dates != dates.dt.normalize()).any():
        raise ValueError(f"{path}: snapped_at has times other than 00:00; expected one snapshot per day")
    price = pd.to_numeric(raw["price"], errors="coerce")
    bad = ~(np.isfinite(price) & (price > 0))
    if bad.any():
        first = int(bad.to_numpy().argmax())
        raise ValueError(f"{path}: price must be a positive finite number; row {first + 2} has "
                         f"{raw['price'].iloc[first]!r}")
    if dates.duplicated().any():
        raise ValueError(f"{path}: date {dates[dates.duplicated()].iloc[0].date()} appears more than once")
    return raw, dates, price


def read_coingecko_daily(path: str | Path) -> pd.Series:
    """Read a CoinGecko daily export into a price series.

    Args:
        path: CSV with (at least) columns ``snapped_at`` (dates, optionally with a ``UTC`` suffix) and
            ``price`` (USD; thousands separators allowed).

    Returns:
        ``price_usd`` Series indexed by a timezone-naive, sorted daily ``DatetimeIndex`` named ``date``
        (dates are UTC days).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a column is missing, a date or price does not parse, a price is not positive and
            finite, a date repeats, the file is empty, or a snapshot is not at midnight (not daily data).
    """
    _, dates, price = _read_coingecko(Path(path))
    series = pd.Series(price.to_numpy(dtype=float), index=pd.DatetimeIndex(dates, name="date"), name="price_usd")
    return series.sort_index()


def read_coingecko_frame(path: str | Path) -> pd.DataFrame:
    """Read a CoinGecko daily export into a tidy frame.

    Args:
        path: CSV with columns ``snapped_at``, ``price``, ``market_cap``, ``total_volume``.

    Returns:
        Frame with ``date`` (timezone-naive UTC day, sorted, unique), ``price_usd`` (USD/token),
        ``market_cap_usd`` and ``volume_usd`` (24 h volume, USD); empty cells are NaN, a market cap of 0
        is kept as CoinGecko wrote it (no supply figure then).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: as :func:`read_coingecko_daily`, or ``market_cap`` / ``total_volume`` is missing or holds
            a value that is not a number.
    """
    path = Path(path)
    raw, dates, price = _read_coingecko(path, ("market_cap", "total_volume"))
    out = {"date": dates.astype("datetime64[us]"), "price_usd": price.astype(float)}
    for source, name in (("market_cap", "market_cap_usd"), ("total_volume", "volume_usd")):
        values = pd.to_numeric(raw[source], errors="coerce").astype(float)
        bad = raw[source].notna() & values.isna()
        if bad.any():
            first = int(bad.to_numpy().argmax())
            raise ValueError(f"{path}: column {source} has a value that is not a number; row {first + 2} has "
                             f"{raw[source].iloc[first]!r}")
        out[name] = values
    return pd.DataFrame(out).sort_values("date", kind="stable").reset_index(drop=True)


def hnt_price_daily() -> pd.Series:
    """Daily HNT (Helium) price in USD, 2020-04-18 .. 2023-06-13 (CoinGecko, via 1kx-network).

    Returns:
        ``price_usd`` Series on a sorted daily ``DatetimeIndex``; see :func:`read_coingecko_daily`.
    """
    return read_coingecko_daily(HNT_USD_DAILY)


def fil_price_daily() -> pd.Series:
    """Daily FIL (Filecoin) price in USD, 2020-10-15 .. 2022-11-07 (CoinGecko, via 1kx-network).

    Returns:
        ``price_usd`` Series on a sorted daily ``DatetimeIndex``; see :func:`read_coingecko_daily`.
    """
    return read_coingecko_daily(FIL_USD_DAILY)


def hnt_price_for_replay() -> pd.Series:
    """One HNT price path for replaying Helium history, 2019-08-01 .. 2023-06-13 (monthly, then daily).

    Before the CoinGecko daily series begins (2020-04-18) the price is the monthly ``price_usd`` of
    :func:`helium_monthly`, a monthly average and so dated mid-month (the 15th), for every month whose 15th
    falls before 2020-04-18 (2019-08 .. 2020-04), plus the first month's value on 2019-08-01 so the path
    starts with the rewards data; from 2020-04-18 on it is :func:`hnt_price_daily`, unchanged. The source
    sets the monthly price to 0.10 USD before 2020-04: that is an assumption of the source, not a market
    price (CoinGecko has no HNT price before 2020-04-18). Steps are at most 31 days apart; interpolate or
    forward-fill as the replay needs.

    Returns:
        ``price_usd`` Series (USD/HNT) on a sorted, unique, timezone-naive ``DatetimeIndex`` named ``date``.
    """
    daily = hnt_price_daily()
    monthly = helium_monthly().set_index("date")["price_usd"]
    mid = monthly.set_axis(monthly.index + pd.Timedelta(days=14))
    mid = mid[mid.index < daily.index[0]]
    path = pd.concat([monthly.iloc[:1], mid, daily])
    path.index = pd.DatetimeIndex(path.index.astype("datetime64[us]"), name="date")
    return path.rename("price_usd")


@dataclass(frozen=True)
class Dataset:
    """One shipped history file and its loader.

    Attributes:
        name: registry key (the loader's name).
        loader: zero-argument callable returning the tidy frame (``date`` + columns with units).
        file: path of the file under ``data/history/``.
        frequency: ``daily`` or ``monthly`` (monthly rows are dated on the first day of the month).
        first: first ``date`` of the loaded frame (ISO).
        last: last ``date`` of the loaded frame (ISO).
        units: the units of the columns, in brief (the loader's docstring has the details).
    """

    name: str
    loader: Callable[[], pd.DataFrame]
    file: str
    frequency: str
    first: str
    last: str
    units: str

    @property
    def path(self) -> Path:
        """Absolute path of the shipped file."""
        return HISTORY_DIR / self.file


_COINGECKO_UNITS = "price_usd USD/token; market_cap_usd, volume_usd USD"
DATASETS: Mapping[str, Dataset] = MappingProxyType({d.name: d for d in (
    Dataset("helium_monthly", helium_monthly, "helium/helium_rewards_monthly.csv", "monthly",
            "2019-08-01", "2023-04-01", "rewards_* HNT or USD; hotspot_reward_share and *_share_* fractions; "
            "price_usd USD/HNT (0.10 assumed before 2020-04); hotspots count (asserted, online or not)"),
    Dataset("hnt_price_daily", partial(read_coingecko_frame, HNT_USD_DAILY), "helium/hnt_usd_daily.csv",
            "daily", "2020-04-18", "2023-06-13", _COINGECKO_UNITS + " (market cap 0 until CoinGecko had supply)"),
    Dataset("filecoin_power_daily", filecoin_power_daily, "filecoin/filecoin_power_daily.csv", "daily",
            "2020-10-15", "2022-11-07", "epoch (30 s); *_bytes bytes; *_eib EiB (2^60 bytes)"),
    Dataset("filecoin_reward_actor_daily", filecoin_reward_actor_daily, "filecoin/filecoin_reward_actor_daily.csv",
            "daily", "2020-08-26", "2022-11-08", "cum_* byte-epochs; *_power_bytes bytes; *_power_eib EiB; "
            "total_mined_attofil attoFIL, total_mined_fil FIL; effective_network_time_epochs epochs"),
    Dataset("fil_price_daily", partial(read_coingecko_frame, FIL_USD_DAILY), "filecoin/fil_usd_daily.csv",
            "daily", "2020-10-15", "2022-11-07", _COINGECKO_UNITS),
    Dataset("filecoin_supply_monthly", filecoin_supply_monthly, "filecoin/filecoin_supply_monthly.csv",
            "monthly", "2020-10-01", "2022-11-01", "*_fil FIL (stocks at month end, change_* over the month); "
            "price_usd USD/FIL; *_share_* fraction of the 2 B max supply; *_usd USD; *_btc BTC"),
    Dataset("hivemapper_monthly", hivemapper_monthly, "hivemapper/hivemapper_rewards_monthly.csv", "monthly",
            "2022-10-01", "2023-09-01", "*_honey HONEY; price_usd USD/HONEY (0.05 assumed before 2023-01); "
            "*_contributors count (map_contributors rounded estimates)"),
    Dataset("akash_monthly", akash_monthly, "akash/akash_rewards_monthly.csv", "monthly", "2020-09-01",
            "2024-12-01", "*_akt and akt_mined AKT; *_apr fractions per year; price_usd USD/AKT; rewards_usd USD"),
    Dataset("bittensor_monthly", bittensor_monthly, "bittensor/bittensor_rewards_monthly.csv", "monthly",
            "2021-11-01", "2025-01-01", "*_tao and tao_issued TAO; issued_share_of_max_supply fraction of 21 M; "
            "price_usd USD/TAO; rewards_usd USD; rewards_btc BTC; nodes count (definition changes 2023-10)"),
    Dataset("render_monthly", render_monthly, "render/render_rewards_monthly.csv", "monthly", "2023-11-01",
            "2025-01-01", "*_render RENDER; price_usd USD/RENDER; rewards_usd USD; rewards_btc BTC; nodes count"),
)})


def load(name: str) -> pd.DataFrame:
    """The shipped dataset ``name`` (a key of :data:`DATASETS`) as a tidy frame with a ``date`` column.

    Raises:
        ValueError: ``name`` is not a shipped dataset (the message lists them).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown history dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name].loader()
