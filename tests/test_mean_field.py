"""The ABM ensemble mean tracks the aggregate engines where the mean-field approximation is fair.

Fair here means: many agents (4,000 potential providers, 20,000 potential users, 400 speculators),
identical costs and willingness to pay (so one aggregate cohort represents every provider exactly), and
little market noise (crypto-market factor volatility 0.05 a year, sentiment 0.01, noise traders 0.05). Both
engines read the same exogenous paths per seed; they differ only in that the ABM draws each agent's entry,
exit, adoption, churn and strategy choice, and keeps each provider's own loss streak, margin average and
token inventory, while the aggregate moves expected fractions of one cohort.

Tolerances, and why (measured on Economy v2, 30 seeds, 104 weekly steps): two standard errors of the ABM
mean reach about 6% of providers and 1.6% of users at their worst step (for the price the exogenous market
paths are shared, so its engine difference is far below its spread). Before Economy v2 part 2 there was one
known aggregation bias on top: arrivals joined a cost cohort and inherited its loss streak, so they left with
it, while in the ABM each arrival starts its own streak (measured then: providers 12-16% apart around the
exit wave of steps 67-69). The aggregate engines now keep arrivals in vintages of their own
(``models.sd.supply``); measured over 10 seeds after the change: providers at most 3.9% apart at any step
and 1.1% on average, users 1.1% / 0.3%, price 1.7% / 0.4%. The bounds stay loose at the worst step
(20% / 10% / 3%) and tight on the mean over all steps (5% / 3% / 1%).

Provider token inventories carry a documented approximation: a slot's leavers take the slot's average
inventory, while an ABM agent leaves with its own (after a loss streak it has sold more of it). Providers
sell their whole reward to cover opex in the first weeks, so inventories pass through zero and a pointwise
relative error is undefined there; they are compared relative to the largest aggregate inventory of the run,
at the worst step (bound 15%) and on average (bound 5%).
"""

from __future__ import annotations

import pytest

from models.analysis.ensembles import ensemble_mean, run_ensemble
from models.params import with_overrides

SEEDS = range(30)
COLS = ["providers", "users", "price", "provider_tokens"]
WORST_STEP = {"providers": 0.20, "users": 0.10, "price": 0.03, "provider_tokens": 0.15}
MEAN_OVER_STEPS = {"providers": 0.05, "users": 0.03, "price": 0.01, "provider_tokens": 0.05}


@pytest.fixture(scope="module")
def mean_field_scenario(base_scenario):
    return with_overrides(
        base_scenario,
        {
            "simulation.steps": 104, "simulation.potential_providers": 4000, "simulation.potential_users": 20000,
            "simulation.speculators": 400, "providers.initial_active": 400, "users.initial_users": 200,
            "providers.opex_dispersion": 0.0, "simulation.cost_cohorts": 1, "users.wtp_dispersion": 0.0,
            "speculators.noise_sigma": 0.05, "market.sentiment_volatility": 0.01,
            "market.factor_volatility_per_year": 0.05,
        },
    )


def test_abm_ensemble_mean_tracks_the_aggregate(mean_field_scenario):
    abm = ensemble_mean(run_ensemble(mean_field_scenario, "abm", SEEDS), COLS)
    agg = ensemble_mean(run_ensemble(mean_field_scenario, "batch", SEEDS), COLS)
    rel = ((abm - agg).abs() / agg.abs()).iloc[1:]
    rel["provider_tokens"] = ((abm - agg)["provider_tokens"].abs() / agg["provider_tokens"].max()).iloc[1:]
    for col in COLS:
        assert rel[col].max() < WORST_STEP[col], (col, rel[col].max())
        assert rel[col].mean() < MEAN_OVER_STEPS[col], (col, rel[col].mean())
    # the economy moves over the horizon, so agreement is not trivially about a flat line: users grow, and
    # providers go through an exit wave and a recovery
    assert agg["users"].iloc[-1] > 3 * agg["users"].iloc[0]
    assert agg["providers"].min() < 0.5 * agg["providers"].iloc[0]
    assert agg["providers"].iloc[-1] > 1.1 * agg["providers"].min()
