"""Usage payments: burn-and-mint (Helium data credits, Render) or fee with a take rate (Akash)."""

from __future__ import annotations

import numpy as np


def usage_revenue_usd(served_units, service_price_usd):
    """USD users pay for the service they actually received."""
    return np.asarray(served_units) * service_price_usd


def split_bme(tokens_bought, burn_share):
    """Burn-and-mint: tokens bought with usage USD are burned; the unburned share goes to providers.

    Returns:
        (burned, to_providers).
    """
    burned = tokens_bought * burn_share
    return burned, tokens_bought - burned


def split_fee(tokens_bought, take_rate):
    """Fee mode: users pay providers in tokens; the protocol keeps a take rate for its treasury.

    Returns:
        (to_treasury, to_providers).
    """
    to_treasury = tokens_bought * take_rate
    return to_treasury, tokens_bought - to_treasury


def settle_usage(tokens_bought, mode_is_bme, burn_share, take_rate):
    """Apply the payment mode. Returns (burned, to_treasury, to_providers)."""
    burned_bme, providers_bme = split_bme(tokens_bought, burn_share)
    treasury_fee, providers_fee = split_fee(tokens_bought, take_rate)
    burned = np.where(mode_is_bme, burned_bme, 0.0)
    to_treasury = np.where(mode_is_bme, 0.0, treasury_fee)
    to_providers = np.where(mode_is_bme, providers_bme, providers_fee)
    return burned, to_treasury, to_providers
