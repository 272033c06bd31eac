"""Time the Mesa ABM on the base scenario with space on, at growing numbers of potential providers.

Usage: ``python benchmarks/abm_space.py [--sizes 1000 10000 100000] [--steps 260]``. Users scale with
providers (5 potential users per potential provider, as in the base), a tenth of the providers and a
hundredth of the users are active at step 0, and the area grows with the population so the density of
coverage stays that of the base. Prints seconds to build the model (agents, Mesa space, coverage grid)
and to step it, and the final providers and covered share, space on and off.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from models.abm.model import DePINModel
from models.exogenous import run_seed_sequence
from models.params import load_scenario, with_overrides

BASE = Path(__file__).resolve().parents[1] / "params" / "base.yaml"


def timed_run(scenario, steps: int) -> tuple[float, float, DePINModel]:
    start = time.perf_counter()
    model = DePINModel(scenario, run_seed_sequence(1))
    built = time.perf_counter()
    for _ in range(steps):
        model.step()
    return built - start, time.perf_counter() - built, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--steps", type=int, default=260)
    args = parser.parse_args()
    base = load_scenario(BASE)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'providers':>10} {'users':>9} {'space':>5} {'build s':>8} {'step s':>8} {'final prov':>10} {'covered':>8}")
    for n in args.sizes:
        scale = n / base.simulation.potential_providers
        for space in (True, False):
            grid = int(min(1024, max(128, 128 * scale**0.5)))
            sc = with_overrides(base, {
                "simulation.potential_providers": n, "simulation.potential_users": 5 * n,
                "providers.initial_active": n // 10, "users.initial_users": n // 20,
                "emission.initial_tokens_per_year": base.emission.initial_tokens_per_year * scale,
                "space.enabled": space, "space.area_km2": base.space.area_km2 * scale, "space.grid_cells": grid,
            })
            build, step, model = timed_run(sc, args.steps)
            covered = model.rows[-1]["coverage"][0]
            print(f"{n:>10,} {5 * n:>9,} {'on' if space else 'off':>5} {build:>8.2f} {step:>8.2f} "
                  f"{model.rows[-1]['providers'][0]:>10,.0f} {covered:>8.3f}")


if __name__ == "__main__":
    main()
