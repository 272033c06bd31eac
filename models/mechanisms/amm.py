"""Constant-product automated market maker (Uniswap v2 style) for a token/USD pool.

Reserves ``x`` (tokens) and ``y`` (USD); the fee stays in the pool, so ``x*y`` grows with volume.
"""

from __future__ import annotations

import numpy as np


def price(token_reserve, usd_reserve):
    """Marginal price, USD per token."""
    return np.asarray(usd_reserve) / np.asarray(token_reserve)


def sell_tokens(token_reserve, usd_reserve, tokens_in, fee):
    """Sell ``tokens_in`` to the pool.

    Returns:
        (usd_out, new_token_reserve, new_usd_reserve), with usd_out = y*g*dx / (x + g*dx), g = 1 - fee.
    """
    g = 1.0 - fee
    denom = token_reserve + g * tokens_in
    usd_out = usd_reserve * g * tokens_in / denom
    # new reserve from the product form: no cancellation when the trade drains the pool
    return usd_out, token_reserve + tokens_in, usd_reserve * token_reserve / denom


def buy_tokens(token_reserve, usd_reserve, usd_in, fee):
    """Buy tokens with ``usd_in``. Returns (tokens_out, new_token_reserve, new_usd_reserve)."""
    g = 1.0 - fee
    denom = usd_reserve + g * usd_in
    tokens_out = token_reserve * g * usd_in / denom
    return tokens_out, token_reserve * usd_reserve / denom, usd_reserve + usd_in


def usd_to_buy(token_reserve, usd_reserve, tokens_out, fee):
    """USD that buys exactly ``tokens_out`` from the pool (the inverse of :func:`buy_tokens`; needs tokens_out < x)."""
    return tokens_out * usd_reserve / ((1.0 - fee) * (token_reserve - tokens_out))


def signed_trade(token_reserve, usd_reserve, usd_order, fee, tokens_available):
    """Execute a signed order: positive = buy for that many USD, negative = sell tokens worth |order|.

    Sells are valued at the pre-trade marginal price and capped by ``tokens_available``.

    Returns:
        (tokens_delta_for_trader, usd_delta_for_trader, new_token_reserve, new_usd_reserve).
    """
    usd_order = np.asarray(usd_order, dtype=float)
    buy_usd = np.maximum(usd_order, 0.0)
    p = price(token_reserve, usd_reserve)
    sell_tok = np.minimum(np.maximum(-usd_order, 0.0) / p, np.maximum(tokens_available, 0.0))
    bought, x1, y1 = buy_tokens(token_reserve, usd_reserve, buy_usd, fee)
    usd_out, x2, y2 = sell_tokens(x1, y1, sell_tok, fee)
    return bought - sell_tok, usd_out - buy_usd, x2, y2


def tokens_to_reach_price(token_reserve, usd_reserve, target_price):
    """Fee-free trade that moves the pool to ``target_price``: positive = tokens sold into the pool."""
    k = token_reserve * usd_reserve
    return np.sqrt(k / target_price) - token_reserve


def _stable_root(b, c, g):
    """Non-negative root of ``g z^2 + b z - c = 0`` for ``c >= 0`` without cancellation."""
    return 2.0 * c / (b + np.sqrt(b * b + 4.0 * g * c))


def trade_to_price_exact(token_reserve, usd_reserve, target_price, fee, tokens_available, usd_available):
    """Trade (fee charged on input) sized to land exactly on ``target_price``, within the trader's holdings.

    Where :func:`trade_toward_price` stops short by the fee, this solves the fee-inclusive quadratics:
    selling ``dx`` gives price ``x y / ((x + g dx)(x + dx))``, buying for ``dy`` gives
    ``(y + dy)(y + g dy) / (x y)``, ``g = 1 - fee``. Used by the arbitrageur that holds a replayed path.

    Returns:
        (tokens_delta_for_trader, usd_delta_for_trader, new_token_reserve, new_usd_reserve).
    """
    x, y = np.asarray(token_reserve, dtype=float), np.asarray(usd_reserve, dtype=float)
    target = np.asarray(target_price, dtype=float)
    g = 1.0 - np.asarray(fee, dtype=float)
    sell_c = np.maximum(x * y / target - x * x, 0.0)
    buy_c = np.maximum(target * x * y - y * y, 0.0)
    sell = np.minimum(_stable_root(x * (1.0 + g), sell_c, g), np.maximum(tokens_available, 0.0))
    buy_usd = np.minimum(_stable_root(y * (1.0 + g), buy_c, g), np.maximum(usd_available, 0.0))
    bought, x1, y1 = buy_tokens(x, y, buy_usd, fee)
    usd_out, x2, y2 = sell_tokens(x1, y1, sell, fee)
    return bought - sell, usd_out - buy_usd, x2, y2


def move_to_price(token_reserve, usd_reserve, target_price):
    """Arbitrage (fee-free) the pool to ``target_price``. Returns (tokens_in, new_x, new_y).

    ``tokens_in`` is what the arbitrageur sold to the pool (negative: bought from it).
    """
    k = token_reserve * usd_reserve
    new_x = np.sqrt(k / target_price)
    return new_x - token_reserve, new_x, k / new_x


def remove_liquidity(token_reserve, usd_reserve, fraction):
    """Withdraw ``fraction`` of both reserves. Returns (tokens_out, usd_out, new_x, new_y)."""
    tokens_out = token_reserve * fraction
    usd_out = usd_reserve * fraction
    return tokens_out, usd_out, token_reserve - tokens_out, usd_reserve - usd_out


def add_liquidity(token_reserve, usd_reserve, usd_in):
    """Deposit ``usd_in`` plus tokens at the pool ratio. Returns (tokens_in, new_x, new_y)."""
    tokens_in = token_reserve * usd_in / usd_reserve
    return tokens_in, token_reserve + tokens_in, usd_reserve + usd_in


def price_ratio_after_sale(token_reserve, tokens_in, fee):
    """Price after selling ``tokens_in`` (fee charged on input) relative to the price before."""
    g = 1.0 - fee
    return token_reserve**2 / ((token_reserve + tokens_in) * (token_reserve + g * tokens_in))


def tokens_for_price_drop(token_reserve, drop, fee):
    """Tokens a seller must sell (fee charged) to push the price down by the fraction ``drop``.

    Solves ``price_ratio_after_sale(x, dx, fee) = 1 - drop`` for ``dx``:
    ``g dx^2 + x (1 + g) dx + x^2 (1 - 1 / (1 - drop)) = 0``.
    """
    x = np.asarray(token_reserve, dtype=float)
    g = 1.0 - np.asarray(fee, dtype=float)
    c = 1.0 / np.maximum(1.0 - np.asarray(drop, dtype=float), 1e-300) - 1.0
    b = x * (1.0 + g)
    # stable root of the quadratic for small c (no cancellation)
    return 2.0 * x * x * c / (b + np.sqrt(b * b + 4.0 * g * x * x * c))


def trade_toward_price(token_reserve, usd_reserve, target_price, fee, tokens_available, usd_available):
    """Trade (fee charged) that moves the pool toward ``target_price`` within the trader's holdings.

    The size is the fee-free trade that would reach the target, capped by the trader's tokens (when
    selling) or USD (when buying).

    Returns:
        (tokens_delta_for_trader, usd_delta_for_trader, new_token_reserve, new_usd_reserve).
    """
    x, y = np.asarray(token_reserve, dtype=float), np.asarray(usd_reserve, dtype=float)
    wanted = tokens_to_reach_price(x, y, target_price)  # > 0: tokens to sell into the pool
    sell = np.clip(wanted, 0.0, np.maximum(tokens_available, 0.0))
    buy_usd = np.clip(np.sqrt(x * y * target_price) - y, 0.0, np.maximum(usd_available, 0.0))
    buy_usd = np.where(wanted < 0, buy_usd, 0.0)
    bought, x1, y1 = buy_tokens(x, y, buy_usd, fee)
    usd_out, x2, y2 = sell_tokens(x1, y1, sell, fee)
    return bought - sell, usd_out - buy_usd, x2, y2
