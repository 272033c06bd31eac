"""Replay a real price path: run a scenario from its start date with the token price held to a series.

The price is held by the arbitrageur of a ``price_path`` shock in USD (``path_unit: usd``): at the end of
every step it trades the pool to the series' price at that step's date, buying with USD from outside the
model and selling from its own inventory (a stated share of the genesis float). Everything else (providers,
users, speculators, outside holders) runs as in any scenario, so the replay answers "what would the
network have done at the prices that really happened". Row ``k`` of the output is the state at
``start + k * dt_days``; its ``price`` equals the series interpolated (linearly in time) to that date.

Used by ``depin replay`` and by ``models.calibration``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from models.history_parsing import parse_numbers
from models.params import ParameterError, Scenario, with_overrides

DATE_COLUMNS = ("date", "snapped_at", "month", "day", "time", "timestamp")
PRICE_COLUMNS = ("price_usd", "price", "close", "$-price")
ARBITRAGEUR_FLOAT_SHARE = 0.5  # share of the genesis float the replay's arbitrageur holds (assumption)


class ReplayInputError(ParameterError):
    """A price file, a column or a date range that cannot be replayed (exit code 2 on the command line)."""


def _pick(columns, wanted: str | None, candidates, kind: str, path) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise ReplayInputError(f"{path}: --{kind}-column {wanted!r}: no such column (found: "
                                   f"{', '.join(map(str, columns))})")
        return wanted
    lower = {str(c).strip().lower(): c for c in columns}
    for name in candidates:
        if name in lower:
            return lower[name]
    raise ReplayInputError(f"{path}: no {kind} column (looked for {', '.join(candidates)}; found "
                           f"{', '.join(map(str, columns))}); name it with --{kind}-column")


def read_price_csv(path: str | Path, date_column: str | None = None, price_column: str | None = None) -> pd.Series:
    """Read a daily or monthly price series (USD per token) from a CSV file.

    Args:
        path: CSV file; thousands separators and a leading ``$`` are allowed in prices.
        date_column: column with the dates (default: the first of ``DATE_COLUMNS`` present).
        price_column: column with the prices (default: the first of ``PRICE_COLUMNS`` present).

    Returns:
        ``price_usd`` Series on a sorted, timezone-naive ``DatetimeIndex`` named ``date``.

    Raises:
        ReplayInputError: the file is missing or unreadable, a column is missing, a date or a price does not
            parse, a price is not positive, a date repeats, or fewer than two rows remain.
    """
    path = Path(path)
    if not path.is_file():
        raise ReplayInputError(f"{path}: price file not found")
    try:
        raw = pd.read_csv(path, thousands=",", dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ReplayInputError(f"{path}: not a readable CSV ({type(exc).__name__}: {exc})") from None
    date_col = _pick(raw.columns, date_column, DATE_COLUMNS, "date", path)
    price_col = _pick(raw.columns, price_column, PRICE_COLUMNS, "price", path)
    if len(raw) < 2:
        raise ReplayInputError(f"{path}: {len(raw)} row(s); a price path needs at least two dates")
    text = raw[date_col].astype(str).str.strip().str.replace(r"\s*UTC$", "", regex=True)
    dates = pd.to_datetime(text, errors="coerce", format="mixed")
    if dates.isna().any():
        row = int(dates.isna().to_numpy().argmax())
        raise ReplayInputError(f"{path}: column {date_col!r} row {row + 2}: {raw[date_col].iloc[row]!r} is not a date")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    try:  # the spreadsheet number rules of the shipped history ("$1,200.5")
        price = parse_numbers(raw[price_col], path, price_col, "number")
    except ValueError as exc:
        raise ReplayInputError(str(exc)) from None
    bad = ~(np.isfinite(price) & (price > 0))
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ReplayInputError(f"{path}: column {price_col!r} row {row + 2}: {raw[price_col].iloc[row]!r} is not a "
                               "positive price in USD")
    series = pd.Series(price.to_numpy(float), index=pd.DatetimeIndex(dates, name="date"), name="price_usd")
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()][0]
        raise ReplayInputError(f"{path}: column {date_col!r}: date {dup} appears more than once")
    return series.sort_index()


def step_dates(start: dt.date | pd.Timestamp, dt_days: float, steps: int) -> pd.DatetimeIndex:
    """Calendar date of rows 0 .. ``steps`` (row ``k`` is the state ``k * dt_days`` after ``start``)."""
    return pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(np.arange(steps + 1) * dt_days, unit="D"),
                            name="date")


def price_at(series: pd.Series, dates, source: str = "price series") -> np.ndarray:
    """The series linearly interpolated in time to ``dates``; every date must lie within the series."""
    dates = pd.DatetimeIndex(dates)
    first, last = series.index[0], series.index[-1]
    outside = (dates < first) | (dates > last)
    if outside.any():
        bad = dates[outside][0]
        raise ReplayInputError(f"{source}: date {bad.date()} is outside the series ({first.date()} .. "
                               f"{last.date()})")
    x = series.index.asi8.astype(float)
    return np.interp(dates.asi8.astype(float), x, series.to_numpy(float))


def _as_timestamp(value, name: str, source: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ReplayInputError(f"{source}: --{name} {value!r}: not a date (use YYYY-MM-DD)") from None


def replay_scenario(scenario: Scenario, prices: pd.Series, start=None, end=None,
                    source: str = "price series", arbitrageur_float_share: float = ARBITRAGEUR_FLOAT_SHARE) -> Scenario:
    """The scenario set up to replay ``prices`` from ``start`` (default: its start date) to ``end``.

    The start price becomes ``market.initial_price_usd``; the horizon is the whole steps that fit between
    ``start`` and ``end`` (default: the series' last date); a ``price_path`` shock in USD with one value per
    step holds the price; its arbitrageur gets ``arbitrageur_float_share`` of the genesis float.

    Raises:
        ReplayInputError: a date outside the series, an end before the start, or an undated scenario and
            no ``start``.
    """
    start_ts = _as_timestamp(start, "start", source)
    start_name = "--start"
    if start_ts is None:
        start_name = "simulation.start_date"
        if scenario.simulation.start_date is None:
            raise ReplayInputError(f"{source}: the scenario has no simulation.start_date; give --start")
        start_ts = pd.Timestamp(scenario.simulation.start_date)
    end_ts = _as_timestamp(end, "end", source) or prices.index[-1]
    if end_ts <= start_ts:
        raise ReplayInputError(f"{source}: --end {end_ts.date()} is not after the start {start_ts.date()}")
    for name, when in ((start_name, start_ts), ("--end", end_ts)):
        if not prices.index[0] <= when <= prices.index[-1]:
            raise ReplayInputError(f"{source}: {name} {when.date()} is outside the series "
                                   f"({prices.index[0].date()} .. {prices.index[-1].date()})")
    dt_days = scenario.simulation.dt_days
    steps = int(np.floor((end_ts - start_ts) / pd.Timedelta(days=1) / dt_days + 1e-9))
    if steps < 1:
        raise ReplayInputError(f"{source}: {start_ts.date()} .. {end_ts.date()} is shorter than one step "
                               f"({dt_days:g} days)")
    path = price_at(prices, step_dates(start_ts, dt_days, steps), source)
    held = sum(a.tokens for a in scenario.vesting.allocations) + sum(s.inventory_tokens for s in scenario.shocks)
    pool_tokens = scenario.market.liquidity_usd / path[0]
    genesis_float = (scenario.token.initial_supply - held - pool_tokens
                     - scenario.simulation.speculators * scenario.speculators.initial_tokens)
    shock = {"type": "price_path", "start_day": 0.0, "duration_days": steps * dt_days, "actor": "arbitrageur",
             "inventory_tokens": max(arbitrageur_float_share * genesis_float, 0.0),
             "path": [float(v) for v in path[1:]],
             "path_interval_days": dt_days, "path_unit": "usd"}
    others = [s.model_dump(mode="json") for s in scenario.shocks]
    return with_overrides(scenario, {
        "simulation.start_date": start_ts.date().isoformat(), "simulation.steps": steps,
        "market.initial_price_usd": float(path[0]), "shocks": [*others, shock],
    })


def with_dates(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The frame with a ``date`` column after ``step`` (needs ``simulation.start_date``)."""
    if scenario.simulation.start_date is None:
        raise ValueError(f"scenario {scenario.name!r} has no simulation.start_date")
    start = pd.Timestamp(scenario.simulation.start_date)
    dates = start + pd.to_timedelta(frame["step"].to_numpy(float) * scenario.simulation.dt_days, unit="D")
    out = frame.copy()
    out.insert(int(out.columns.get_loc("step")) + 1, "date", dates)
    return out


def path_gap(frame: pd.DataFrame, prices: pd.Series) -> float:
    """Largest relative gap between the replayed price and the series at the rows' dates."""
    wanted = price_at(prices, frame["date"])
    return float(np.max(np.abs(frame["price"].to_numpy(float) / wanted - 1.0)))


def replay(scenario: Scenario, prices: pd.Series, engine: str = "batch", seed: int | None = None, start=None,
           end=None, source: str = "price series") -> tuple[pd.DataFrame, Scenario]:
    """Run ``scenario`` with the price held to ``prices``; ``(frame with a date column, replayed scenario)``."""
    from models import engines

    replayed = replay_scenario(scenario, prices, start, end, source)
    frame = engines.run(replayed, engine, seed=seed)
    return with_dates(frame, replayed), replayed
