"""Time the Mesa ABM against the targets of issue 14 and print one markdown table with pass or fail.

Usage: ``python benchmarks/abm_perf.py [--repeats 5] [--big-repeats 3] [--steps 260]``.

Measured, each as the best of ``repeats`` runs (the machine is shared: the best run is the one least
disturbed by other work, and the ratio is taken between runs made side by side):

- the base scenario (``params/base.yaml``) through ``models.engines.run(scenario, "abm")``, seconds per run
  (build, 260 steps, frame);
- the same run per agent-step, ns (run time / (agents x steps)), and its ratio to a no-op Mesa agent step:
  a ``mesa.Model`` with as many agents, each with an empty ``step``, built and stepped ``steps`` times with
  ``model.agents.shuffle_do("step")``;
- the base scaled to 100,000 potential providers and 500,000 potential users (:func:`big_scenario`),
  seconds for 260 steps including building its 600,200 Mesa agents.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import mesa
from engines import best_of  # benchmarks/engines.py: smallest wall time of repeated calls

from models import engines
from models.params import Scenario, abm_agents, load_scenario

BASE = Path(__file__).resolve().parents[1] / "params" / "base.yaml"
TARGETS = {"base_s": 2.0, "ratio": 4.0, "big_s": 10.0}


def big_scenario(base: Scenario, providers: int = 100_000, users: int = 500_000) -> Scenario:
    """The base scaled to ``providers`` potential providers and ``users`` potential users.

    As ``benchmarks/abm_space.py`` scales it: a tenth of the providers active at step 0 and a twentieth of
    as many users as providers adopting (1% of the users, as in the base), emission in proportion to the
    providers so the reward per provider stays the base's. Re-validated after ``model_copy``.
    """
    scale = providers / base.simulation.potential_providers
    scenario = base.model_copy(update={
        "simulation": base.simulation.model_copy(update={"potential_providers": providers, "potential_users": users}),
        "providers": base.providers.model_copy(update={"initial_active": providers // 10}),
        "users": base.users.model_copy(update={"initial_users": providers // 20}),
        "emission": base.emission.model_copy(
            update={"initial_tokens_per_year": base.emission.initial_tokens_per_year * scale}),
    })
    return Scenario.model_validate(scenario.model_dump())


class NoOpAgent(mesa.Agent):
    """A Mesa agent whose step does nothing."""

    def step(self) -> None:
        """Nothing."""


def noop_run(agents: int, steps: int) -> None:
    """Build a Mesa model of ``agents`` no-op agents and step it ``steps`` times through ``shuffle_do``."""
    model = mesa.Model(rng=0)
    NoOpAgent.create_agents(model, agents)
    for _ in range(steps):
        model.agents.shuffle_do("step")


def measure(repeats: int, big_repeats: int, steps: int, run=engines.run) -> dict[str, float]:
    """The benchmark's numbers; ``run(scenario, "abm")`` is the engine entry point (swappable for comparisons)."""
    base = load_scenario(BASE)
    base = base.model_copy(update={"simulation": base.simulation.model_copy(update={"steps": steps})})
    agents = abm_agents(base)
    run(base, "abm")  # imports and first-call costs out of the timings
    base_s = best_of(lambda: run(base, "abm"), repeats)
    noop_s = best_of(lambda: noop_run(agents, steps), repeats)
    big = big_scenario(base)
    big_s = best_of(lambda: run(big, "abm"), big_repeats)
    return {"base_s": base_s, "ns": base_s / (agents * steps) * 1e9, "noop_ns": noop_s / (agents * steps) * 1e9,
            "ratio": base_s / noop_s, "big_s": big_s, "agents": agents, "big_agents": abm_agents(big)}


def table(m: dict[str, float], steps: int) -> str:
    """The markdown table of :func:`measure`'s numbers against the targets."""
    def verdict(key):
        return "pass" if m[key] <= TARGETS[key] else "fail"

    rows = [
        "| measure | value | target | result |",
        "|---|---|---|---|",
        f"| base scenario, s per run ({m['agents']:,} agents, {steps} steps) | {m['base_s']:.3f} | "
        f"< {TARGETS['base_s']:g} | {verdict('base_s')} |",
        f"| ns per agent-step (base run / agents x steps) | {m['ns']:.0f} | - | - |",
        f"| no-op Mesa agent step (`shuffle_do`), ns | {m['noop_ns']:.0f} | - | - |",
        f"| ratio to a no-op Mesa agent step | {m['ratio']:.2f}x | <= {TARGETS['ratio']:g}x | {verdict('ratio')} |",
        f"| 100k providers / 500k users ({m['big_agents']:,} agents), s for {steps} steps | {m['big_s']:.2f} | "
        f"< {TARGETS['big_s']:g} | {verdict('big_s')} |",
    ]
    return "\n".join(rows)


def bench_rows(m: dict[str, float], steps: int) -> list[list[str]]:
    """``make bench``'s ABM lines: ``[measurement, target, value, result]``."""
    def verdict(key):
        return "pass" if m[key] <= TARGETS[key] else "fail"

    return [
        [f"base scenario ({m['agents']:,} agents, {steps} steps), s per run", f"< {TARGETS['base_s']:g} s",
         f"{m['base_s']:.3f} s", verdict("base_s")],
        ["cost per agent-step over a no-op Mesa agent step (shuffle_do; both built and stepped)",
         f"<= {TARGETS['ratio']:g}x", f"{m['ratio']:.2f}x ({m['ns']:.0f} vs {m['noop_ns']:.0f} ns)", verdict("ratio")],
        [f"100k providers / 500k users ({m['big_agents']:,} agents), s for {steps} steps",
         f"< {TARGETS['big_s']:g} s", f"{m['big_s']:.2f} s", verdict("big_s")],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of the base and the no-op model (best kept)")
    parser.add_argument("--big-repeats", type=int, default=3, help="runs of the 100k/500k scenario (best kept)")
    parser.add_argument("--steps", type=int, default=260)
    parser.add_argument("--quick", action="store_true", help="one repeat each")
    parser.add_argument("--rows-json", action="store_true", help="print the rows as JSON (benchmarks/bench.py)")
    args = parser.parse_args()
    repeats, big = (1, 1) if args.quick else (args.repeats, args.big_repeats)
    m = measure(repeats, big, args.steps)
    if args.rows_json:
        print(json.dumps(bench_rows(m, args.steps)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"Mesa {mesa.__version__}; best of {repeats} (big: {big})\n")
    print(table(m, args.steps))


if __name__ == "__main__":
    main()
