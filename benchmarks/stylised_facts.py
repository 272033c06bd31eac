"""Stylised facts of the model's weekly token returns beside HNT's and FIL's, with a PASS/FAIL per bound.

Usage: ``python benchmarks/stylised_facts.py [--seeds 20] [--scenario params/base.yaml] [--engine batch]``.
Runs the scenario once per seed 0..N-1, samples each price path weekly, and prints per fact the median
over seeds, its 10-90 % range and the pooled value (each run demeaned), next to the same facts of the
shipped daily history (weekly closes, W-SUN). Bounds: models.analysis.stylised.STYLISED_BOUNDS, after
Cont (2001), Quantitative Finance 1(2). The volatility bound is taken against HNT.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from models.analysis.stylised import (
    STYLISED_BOUNDS,
    check_bounds,
    facts_over_runs,
    pooled_facts,
    reference_facts,
    runs_weekly_returns,
    summarise_facts,
)
from models.history import fil_price_daily, hnt_price_daily

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("annual_volatility", "lag1_autocorrelation", "excess_kurtosis", "max_abs_return", "n")


def model_weekly_returns(run, scenario, engine: str, seeds) -> tuple[list[np.ndarray], list[int]]:
    """Weekly log returns of each seed's price path, and the seeds left out (price not positive/finite).

    ``run(scenario, engine=..., seed=...)`` must return a frame with columns ``step`` and ``price``.
    """
    frames = []
    for seed in seeds:
        frame = run(scenario, engine=engine, seed=int(seed))
        if frame["step"].duplicated().any():
            raise ValueError(f"seed {seed}: the run frame repeats steps; expected one run")
        frames.append(frame[["step", "price"]].assign(run=int(seed)))
    return runs_weekly_returns(pd.concat(frames, ignore_index=True), float(scenario.simulation.dt_days))


def facts_table(model_runs: list[np.ndarray], references: dict[str, dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table of the model's summary (median, p10, p90, pooled) beside each reference's facts."""
    summary = summarise_facts(facts_over_runs(model_runs), pooled_facts(model_runs))

    def fmt(fact: str, value: float) -> str:
        return f"{value:.0f}" if fact == "n" else f"{value:.3f}"

    table = pd.DataFrame(
        {
            "model median": [fmt(f, summary.at[f, "median"]) for f in SHOWN],
            "model 10-90%": [f"{fmt(f, summary.at[f, 'p10'])} .. {fmt(f, summary.at[f, 'p90'])}" for f in SHOWN],
            "model pooled": [fmt(f, summary.at[f, "pooled"]) for f in SHOWN],
            **{name: [fmt(f, float(facts[f])) for f in SHOWN] for name, facts in references.items()},
        },
        index=list(SHOWN),
    )
    return table, summary


def main(argv=None, run=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds (0..N-1)")
    parser.add_argument("--scenario", default="params/base.yaml", help="scenario YAML (relative to cwd or repo)")
    parser.add_argument("--engine", default="batch", help="engine for models.engines.run")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    path = Path(args.scenario)
    if not path.exists() and not path.is_absolute() and (ROOT / path).exists():
        path = ROOT / path

    from models.params import load_scenario

    if run is None:
        from models.engines import run

    scenario = load_scenario(path)
    runs, left_out = model_weekly_returns(run, scenario, args.engine, range(args.seeds))
    history = {"HNT": hnt_price_daily(), "FIL": fil_price_daily()}
    references = reference_facts()
    spans = " and ".join(f"{name} {s.index[0]:%Y-%m-%d}..{s.index[-1]:%Y-%m-%d}" for name, s in history.items())
    print(f"# stylised facts of weekly log returns: {path} ({args.engine}, {args.seeds} seeds, "
          f"dt_days={scenario.simulation.dt_days:g}) vs {spans} (W-SUN closes)")
    if left_out:
        print(f"# left out {len(left_out)} seed(s) whose price reached 0 or was not finite: {left_out}")
    if not runs:
        print("no run with a positive price path: nothing to measure")
        return 1
    table, summary = facts_table(runs, references)
    print(table.to_string())
    print()
    medians = summary["median"].to_dict()
    for name, ok in check_bounds(medians, references["HNT"]).items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {STYLISED_BOUNDS[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
