"""Command line: ``depin validate | run | sweep | report``.

Exit codes: 0 success, 1 a run or notebook failed, 2 bad input (parameter file or arguments). Bad
input is reported as ``file: field.path: problem`` on stderr, and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from models.params import ParameterError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a scenario file."""
    from models.params import load_scenario

    try:
        load_scenario(args.file)
    except ParameterError as exc:
        _error(str(exc))
        return EXIT_USAGE
    print(f"ok: {args.file}")
    return EXIT_OK


def default_run_dir(scenario_name: str, engine: str, seed: int) -> Path:
    """``results/runs/<scenario>-<engine>-<seed>`` under the working directory."""
    return Path("results") / "runs" / f"{scenario_name}-{engine}-{seed}"


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario once, write its time series and a summary."""
    from models import engines
    from models.analysis.regimes import pre_shock_step, summarise_run
    from models.io import atomic_write_json, atomic_write_parquet, provenance
    from models.params import load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ParameterError as exc:
        _error(str(exc))
        return EXIT_USAGE
    seed = scenario.simulation.seed if args.seed is None else args.seed
    if args.steps is not None and not 1 <= args.steps <= scenario.simulation.steps:
        _error(f"{args.scenario}: --steps {args.steps}: must be between 1 and simulation.steps "
               f"({scenario.simulation.steps})")
        return EXIT_USAGE
    steps = scenario.simulation.steps if args.steps is None else args.steps
    out = Path(args.out) if args.out else default_run_dir(scenario.name, args.engine, seed)

    started = time.perf_counter()
    try:
        frame = engines.run(scenario, args.engine, seed=seed, steps=steps)
    except ImportError as exc:  # an engine whose optional module is missing in this build
        _error(f"engine {args.engine!r} is not available: {exc}")
        return EXIT_FAILED
    elapsed = time.perf_counter() - started
    shock = pre_shock_step(scenario, seed=seed, steps=steps)
    headline = summarise_run(frame, scenario, shock)
    summary = {
        "scenario": scenario.name,
        "scenario_file": str(args.scenario),
        "engine": args.engine,
        "seed": seed,
        "steps": steps,
        "runtime_seconds": round(elapsed, 3),
        "results": headline,
        "parameters": scenario.model_dump(mode="json"),
        "provenance": provenance(),
    }
    # Table first, summary last: a summary.json present means the run directory is complete.
    atomic_write_parquet(frame, out / "timeseries.parquet")
    atomic_write_json(out / "summary.json", summary)
    print(
        f"{scenario.name} [{args.engine}, seed {seed}, {steps} steps] -> {out}\n"
        f"  final price {headline['final_price']:.4g} USD, providers {headline['final_providers']:.1f}, "
        f"users {headline['final_users']:.1f}\n"
        f"  regime (providers): {headline['regime']}, trough {headline['trough']:.2f} of the step-"
        f"{headline['pre_shock_step']} level"
    )
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a parameter sweep (implemented in ``models.experiments.runner``)."""
    try:
        from models.experiments.runner import sweep_main
    except ImportError as exc:
        _error(f"sweeps are not available in this build ({exc})")
        return EXIT_FAILED
    return sweep_main(args)


def cmd_report(args: argparse.Namespace) -> int:
    """Execute every notebook and write the HTML site."""
    from models.report import build_report

    notebooks = Path(args.notebooks) if args.notebooks else None
    return build_report(out=Path(args.out), quick=args.quick, notebooks_dir=notebooks)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``depin``."""
    from models.engines import ENGINES

    parser = argparse.ArgumentParser(
        prog="depin", description="DePIN flywheel lab: validate scenarios, run engines, sweeps and the report."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a scenario file; exit 2 with file, field and problem")
    p.add_argument("file", help="scenario YAML file")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="run one scenario once and write timeseries.parquet + summary.json")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--engine", choices=ENGINES, default="batch", help="engine (default: batch)")
    p.add_argument("--seed", type=int, default=None, help="root seed (default: simulation.seed)")
    p.add_argument("--steps", type=int, default=None, help="horizon in steps (default: simulation.steps)")
    p.add_argument("--out", default=None, help="output directory (default: results/runs/<name>-<engine>-<seed>)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="run a sweep spec on Dask, resumable")
    p.add_argument("spec", help="sweep YAML file")
    p.add_argument("--workers", type=int, default=None, help="local Dask workers (default: CPU count)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address tcp://HOST:PORT (default: $DASK_SCHEDULER_ADDRESS or local)")
    p.add_argument("--out", default=None, help="parent directory of the store (default: results -> results/<sweep>/)")
    p.add_argument("--no-resume", action="store_true", help="recompute runs already in the store")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="execute the notebooks and write an HTML site")
    p.add_argument("--quick", action="store_true", help="small parameters (short horizon, few seeds)")
    p.add_argument("--out", default="site", help="site directory (default: site)")
    p.add_argument("--notebooks", default=None, help="notebook directory (default: the project's notebooks/)")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``depin`` console script.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
