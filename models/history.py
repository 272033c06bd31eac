"""Loaders for the real DePIN price history shipped in ``data/history/`` (see its README.md).

Provenance (``data/history/README.md``):

- ``helium/hnt_usd_daily.csv``: ``1kx-network/web3infrastructure_tokenomics`` @ 3664690,
  ``helium/csvs/hnt-usd-max.csv`` (CoinGecko export); daily HNT price, market cap and volume,
  2020-04-18 .. 2023-06-13.
- ``filecoin/fil_usd_daily.csv``: same repository, ``filecoin/csvs/fil-usd-max.csv`` (CoinGecko export),
  cut at 2022-11-07; daily FIL price, market cap and volume, 2020-10-15 .. 2022-11-07.

The CoinGecko exports have columns ``snapped_at,price,market_cap,total_volume``; ``snapped_at`` is a
daily 00:00 UTC snapshot written as ``2020-04-18 00:00:00 UTC``. Prices are returned as they are in the
files (no cleaning): note that FIL's first two days carry the same price (a listing-day artefact) and
HNT's market cap is 0 in the first months (CoinGecko had no supply figure then).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HISTORY_DIR = Path(__file__).resolve().parent.parent / "data" / "history"
HNT_USD_DAILY = HISTORY_DIR / "helium" / "hnt_usd_daily.csv"
FIL_USD_DAILY = HISTORY_DIR / "filecoin" / "fil_usd_daily.csv"


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
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: price history file not found (expected under {HISTORY_DIR})")
    try:
        raw = pd.read_csv(path, thousands=",")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in ("snapped_at", "price") if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, raw.columns))}")
    if raw.empty:
        raise ValueError(f"{path}: no rows")
    try:
        dates = pd.to_datetime(raw["snapped_at"].astype(str).str.strip(), utc=True, format="mixed")
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
    series = pd.Series(price.to_numpy(dtype=float), index=pd.DatetimeIndex(dates, name="date"), name="price_usd")
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()][0]
        raise ValueError(f"{path}: date {dup.date()} appears more than once")
    return series.sort_index()


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
