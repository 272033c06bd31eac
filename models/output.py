"""The tidy per-step table every engine produces (DESIGN.md, Data flow).

Stocks are at the end of the step; flows (``minted``, ``burned``, ``revenue_usd``, ``tokens_sold``,
``arbitrage_usd``...) are totals over the step; ``capacity``, ``demand`` and ``served`` are service
units per day, so they read the same at any step length.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models import ledger

COLUMNS = (
    "step", "price", "supply", "circulating", "floating_supply", "unvested", "treasury", "minted", "burned",
    "minted_total", "burned_total", "providers", "pending_providers", "capacity", "users", "potential_users",
    "demand", "served", "quality", "revenue_usd", "reward_per_provider_usd", "mean_margin_usd", "emission_usd",
    "burn_usd", "tokens_sold", "bme_price", "expected_price", "fundamental_price", "valuation", "market_factor",
    "sentiment", "share_fundamentalist", "share_trend", "share_noise", "amm_tokens", "amm_usd", "provider_tokens",
    "speculator_tokens", "speculator_usd", "float_tokens", "treasury_usd", "seller_tokens",
    "arbitrageur_tokens", "usd_in_total", "usd_out_total", "crash_target", "crash_achieved", "arbitrage_usd",
    "path_target_price", "locked", "unbonding", "order_backlog", "orders", "arrivals", "exits", "lead_time_days",
    "coverage", "production_capacity", "cancelled",
)


def bme_price(revenue_usd, tokens_sold):
    """Effective burn-and-mint price: usage USD over the tokens providers sold in the step.

    NaN when nothing was sold, or when a dust sale makes the quotient exceed the float range.
    """
    sold = np.asarray(tokens_sold, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio = np.asarray(revenue_usd, dtype=float) / np.where(sold > 0, sold, 1.0)
    return np.where((sold > 0) & np.isfinite(ratio), ratio, np.nan)


def record(s: dict, step: int) -> dict:
    """One row per run (arrays over runs) from an aggregate-shaped state.

    Expects the ledger accounts plus ``active`` and ``margin`` (runs, types, vintages), ``pending``,
    ``backlog`` and ``shares`` (runs, 3); ``provider_tokens``, ``locked`` and ``unbonding`` may be per
    cohort or slot (they are summed per run). The ABM builds the same keys from its agents.
    """
    price = s["amm_usd"] / s["amm_tokens"]
    active = s["active"]
    n_active = ledger.total(active, price)
    mean_margin = np.where(n_active > 0, ledger.total(active * s["margin"], price) / np.maximum(n_active, 1e-300),
                           0.0)
    sold = s["tokens_sold"]
    row = {
        "step": np.full(price.shape, step),
        "price": price,
        "circulating": ledger.circulating(s),
        "floating_supply": ledger.floating_supply(s),
        "providers": n_active,
        "pending_providers": ledger.total(s["pending"], price) + ledger.total(s["backlog"], price),
        "order_backlog": ledger.total(s["backlog"], price),
        "reward_per_provider_usd": s["reward_per_provider"] * price,
        "mean_margin_usd": mean_margin,
        "emission_usd": s["minted"] * price,
        "burn_usd": s["burned"] * price,
        "bme_price": bme_price(s["revenue_usd"], sold),
        "expected_price": s["mean_expected_price"],
        "provider_tokens": ledger.total(s["provider_tokens"], price),
        "locked": ledger.total(s["locked"], price),
        "unbonding": ledger.total(s["unbonding"], price),
        "share_fundamentalist": s["shares"][..., 0],
        "share_trend": s["shares"][..., 1],
        "share_noise": s["shares"][..., 2],
        # makers' capacity, units/day; NaN when production is unlimited (no capacity to report)
        "production_capacity": np.where(np.isfinite(s["production_capacity"]), s["production_capacity"], np.nan),
    }
    for col in COLUMNS:
        if col not in row:
            row[col] = s[col]
    return {c: np.asarray(row[c], dtype=float) if c != "step" else row[c] for c in COLUMNS}


def to_frame(rows: list[dict], run_ids=None) -> pd.DataFrame:
    """Stack per-step rows (arrays over runs, steps 0 .. T in order) into a tidy frame sorted by run, then step."""
    arrays = {c: np.stack([r[c] for r in rows], axis=1) for c in COLUMNS}
    return frame_from_arrays(arrays, len(rows) - 1, run_ids)


def frame_from_arrays(arrays: dict, steps: int, run_ids=None) -> pd.DataFrame:
    """The tidy frame from ``column -> (runs, steps + 1)`` arrays; ``step`` is 0 .. ``steps`` unless given."""
    runs = next(iter(arrays.values())).shape[0]
    step = arrays["step"] if "step" in arrays else np.broadcast_to(np.arange(steps + 1), (runs, steps + 1))
    frame = pd.DataFrame({c: (step if c == "step" else arrays[c]).reshape(-1) for c in COLUMNS})
    frame["step"] = frame["step"].astype(np.int64)
    ids = np.arange(runs) if run_ids is None else np.asarray(run_ids)
    frame.insert(0, "run", np.repeat(ids, steps + 1))
    return frame
