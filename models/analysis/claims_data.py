"""What the shipped history says about the thread's claims (notebook 00): flows, windows and measures.

The history side of ``models.analysis.claims``: Filecoin's rewards and burns, trailing years, market caps,
reward per node, and which measures the files hold at all (a claim whose measure no file holds is
``untestable here``). Frames come from ``models.history``; nothing here runs the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

FILPLUS_MULTIPLIER = 10.0  # quality-adjusted power of a verified (Filecoin Plus) deal over its raw bytes (FIP-0003)
MONTHS_PER_YEAR = 12  # a trailing year of monthly rows (definition)

# The measures a claim would need and the history files do not hold, as snake_case words of column names: a
# pattern matches a column when its words appear in the column's words in a row (a plural "s" allowed), so
# "tam" matches "tam_usd" but not "timestamp", and "gpu" matches "gpus_active". Both spellings are listed.
GPU_MEASURES = ("gpu", "provider", "lease", "utilisation", "utilization", "leased_capacity")  # claim 6
RESEARCH_MEASURES = ("research", "paper", "benchmark", "output", "quality", "score")  # claim 7: what the subsidy buys
INDUSTRY_MEASURES = ("industry", "market_size", "tam", "addressable_market")  # claim 5: size of the incumbent industry
BURN_MEASURES = ("burn", "burnt", "burned", "fee")  # claim 3: on-chain fees paid (burned) by users or providers


def _matches(column: str, pattern: str) -> bool:
    words, want = column.lower().split("_"), pattern.lower().split("_")
    n = len(want)
    for i in range(len(words) - n + 1):
        part = words[i:i + n]
        if part[:-1] == want[:-1] and part[-1] in (want[-1], want[-1] + "s"):
            return True
    return False


def find_measures(frames: Mapping[str, pd.DataFrame], patterns: Sequence[str]) -> dict[str, list[str]]:
    """Per frame, the columns that hold one of ``patterns`` as whole snake_case words (case-insensitive).

    Returns:
        ``{name: [matching columns]}``; an empty list means the frame holds no such measure.
    """
    return {name: [c for c in frame.columns if any(_matches(str(c), p) for p in patterns)]
            for name, frame in frames.items()}


def untestable_unless(found: Mapping[str, list[str]]) -> str:
    """``untestable here`` when no frame holds a needed measure; raises when one does.

    A column that could test the claim is not evidence for it: when the data hold one, the claim needs a test
    of its own, so this stops the notebook instead of handing out a verdict nothing computed.
    """
    present = {name: cols for name, cols in found.items() if cols}
    if present:
        raise LookupError(f"the data now hold a measure this claim needs ({present}): write its test")
    return "untestable here"


# --- Filecoin's flows and power -------------------------------------------------------------------------

def verified_deal_share(power: pd.DataFrame) -> dict:
    """Share of Filecoin's raw-byte power in verified deals on the last day of ``filecoin_power_daily``.

    A verified (Filecoin Plus) deal counts ``FILPLUS_MULTIPLIER`` times its raw bytes in quality-adjusted power
    and committed-capacity sectors once, so verified raw bytes are ``(qa - raw) / (multiplier - 1)``. Unverified
    deals count as committed capacity and are not seen, so this is a lower bound of the paid share of capacity.

    Returns:
        ``date`` and ``share`` (verified raw bytes over raw bytes).
    """
    last = power.sort_values("date").iloc[-1]
    verified = (last["qa_power_bytes"] - last["raw_power_bytes"]) / (FILPLUS_MULTIPLIER - 1.0)
    return {"date": last["date"], "share": float(verified / last["raw_power_bytes"])}


def filecoin_flows(supply: pd.DataFrame) -> pd.DataFrame:
    """Filecoin's monthly rewards and burns in FIL and USD (``models.history.filecoin_supply_monthly``).

    Rewards are the change of ``mined_fil`` (block rewards minted in the month), burns the change of
    ``burnt_fil`` (base-fee burns and penalties), both valued at the month's average ``price_usd``. The file's
    first row holds levels, not changes (data/history/README.md), so it is dropped.

    Returns:
        ``date, rewards_fil, burnt_fil, price_usd, rewards_usd, burn_usd``.
    """
    rows = supply.sort_values("date").iloc[1:]
    out = pd.DataFrame({"date": rows["date"], "rewards_fil": rows["change_mined_fil"],
                        "burnt_fil": rows["change_burnt_fil"], "price_usd": rows["price_usd"]})
    out["rewards_usd"] = out["rewards_fil"] * out["price_usd"]
    out["burn_usd"] = out["burnt_fil"] * out["price_usd"]
    return out.reset_index(drop=True)


def trailing_year(frame: pd.DataFrame, column: str, months: int = MONTHS_PER_YEAR) -> dict:
    """Sum of ``column`` over the last ``months`` rows that hold it (a year of monthly rows).

    Returns:
        ``value`` (NaN when fewer rows hold it), ``first`` and ``last`` dates of the window.
    """
    rows = frame.dropna(subset=[column]).sort_values("date").tail(months)
    if len(rows) < months:
        return {"value": np.nan, "first": pd.NaT, "last": pd.NaT}
    return {"value": float(rows[column].sum()), "first": rows["date"].iloc[0], "last": rows["date"].iloc[-1]}


def network_year(frames: Mapping[str, pd.DataFrame], rewards: Mapping[str, str],
                 burns: Mapping[str, str]) -> pd.DataFrame:
    """Per network, the last year of rewards (USD) and of burns (USD, NaN where the data hold none).

    Args:
        frames: network -> monthly frame with a ``date`` column.
        rewards: network -> its column of rewards in USD.
        burns: network -> its column of burns in USD (networks without one are absent).

    Returns:
        Indexed by network: ``rewards_usd``, ``burn_usd``, ``rewards_per_burn``, ``first``, ``last`` (window).
    """
    rows = []
    for name, frame in frames.items():
        r = trailing_year(frame, rewards[name])
        b = trailing_year(frame, burns[name]) if name in burns else {"value": np.nan}
        rows.append({"network": name, "rewards_usd": r["value"], "burn_usd": b["value"],
                     "rewards_per_burn": r["value"] / b["value"] if b["value"] > 0 else np.nan,
                     "first": r["first"], "last": r["last"]})
    return pd.DataFrame(rows).set_index("network")


# --- claim 4: market capitalisation ------------------------------------------------------------------

def last_market_caps(prices: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The last positive market capitalisation in each CoinGecko frame (``market_cap_usd``) and its date."""
    rows = []
    for name, frame in prices.items():
        part = frame[frame["market_cap_usd"] > 0].sort_values("date")
        rows.append({"token": name, "market_cap_usd": float(part["market_cap_usd"].iloc[-1]),
                     "date": part["date"].iloc[-1]})
    return pd.DataFrame(rows).set_index("token")


# --- claims 6 and 7: what the subsidy pays -------------------------------------------------------------

def reward_per_node(frame: pd.DataFrame, since=None, rewards: str = "rewards_usd",
                    nodes: str = "nodes") -> pd.DataFrame:
    """Monthly USD reward per node from ``since`` on (rows with both columns; a definition change sets ``since``).

    Returns:
        ``date, rewards_usd, nodes, usd_per_node_month``.
    """
    rows = frame.dropna(subset=[rewards, nodes])
    rows = rows[rows[nodes] > 0]
    if since is not None:
        rows = rows[rows["date"] >= pd.Timestamp(since)]
    out = rows[["date", rewards, nodes]].rename(columns={rewards: "rewards_usd", nodes: "nodes"}).copy()
    out["usd_per_node_month"] = out["rewards_usd"] / out["nodes"]
    return out.reset_index(drop=True)


def units_fundable(usd_per_year: float, capex_usd: float) -> float:
    """Hardware units (at ``capex_usd`` each) a year of ``usd_per_year`` would buy outright."""
    return float(usd_per_year) / float(capex_usd)
