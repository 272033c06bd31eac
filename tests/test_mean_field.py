"""The ABM ensemble mean tracks the aggregate engines where the mean-field approximation is fair.

Fair here means: many agents (4,000 potential providers, 20,000 potential users, 400 speculators),
identical costs and willingness to pay (so one aggregate cohort represents every provider exactly), and
little market noise (crypto-market factor volatility 0.05 a year, sentiment 0.01, noise traders 0.05). Both
engines read the same exogenous paths per seed; they differ only in that the ABM draws each agent's entry,
exit, adoption, churn and strategy choice, and keeps each provider's own loss streak, margin average and
token inventory, while the aggregate moves expected fractions of one cohort.

Tolerances, and why (measured on Economy v2, 30 seeds, 104 weekly steps): two standard errors of the ABM
mean reach about 6% of providers and 1.6% of users at their worst step (for the price the exogenous market
paths are shared, so its engine difference is far below its spread). On top of sampling error there is one
known aggregation bias (``models.sd.economy.providers_move``): the aggregate keeps one loss streak and one
margin average per cohort, so providers who arrived in the middle of a loss streak leave with the cohort,
while in the ABM each arrival starts its own streak and leaves later. That bias shows in providers around
exit waves (measured: 12-16% around step 67-69, after the exit wave of the first weeks; 2.2-2.7% averaged
over steps). Users and price stay within 1.7% and 1.1% at every step. We therefore bound the worst step loosely
(20% / 10% / 3%) and the mean over all steps tightly (5% / 3% / 1%).

Provider token inventories carry a second, documented approximation: a cohort's leavers take the cohort's
average inventory, while an ABM agent leaves with its own (after a loss streak it has sold more of it). With
the sampling error of a few hundred leavers (two standard errors up to 16-17% at single steps, measured)
their worst step is bounded at 35% and the mean over steps (measured 3.5-4.3%) at 8%.
"""

from __future__ import annotations

import pytest

from models.analysis.ensembles import ensemble_mean, run_ensemble
from models.params import with_overrides

SEEDS = range(30)
COLS = ["providers", "users", "price", "provider_tokens"]
WORST_STEP = {"providers": 0.20, "users": 0.10, "price": 0.03, "provider_tokens": 0.35}
MEAN_OVER_STEPS = {"providers": 0.05, "users": 0.03, "price": 0.01, "provider_tokens": 0.08}


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
    for col in COLS:
        assert rel[col].max() < WORST_STEP[col], (col, rel[col].max())
        assert rel[col].mean() < MEAN_OVER_STEPS[col], (col, rel[col].mean())
    # the economy moves over the horizon, so agreement is not trivially about a flat line: users grow, and
    # providers go through an exit wave and a recovery
    assert agg["users"].iloc[-1] > 3 * agg["users"].iloc[0]
    assert agg["providers"].min() < 0.5 * agg["providers"].iloc[0]
    assert agg["providers"].iloc[-1] > 1.2 * agg["providers"].min()
