"""Command line: ``depin validate | run | replay | sweep | report``.

Exit codes: 0 success, 1 a run, sweep or notebook failed (or a reproduction differs), 2 bad input
(parameter file, arguments, an output location that cannot be used), 130 Ctrl-C. Every error is one line
on stderr (``error: file: field.path: problem``), and bad input writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from models.params import ParameterError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _error(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    print("error: " + "; ".join(line.strip() for line in str(message).splitlines() if line.strip()), file=sys.stderr)


def _count(minimum: int):
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a scenario file, or a sweep spec (a mapping with a ``base`` key) with every point it samples."""
    from models.params import load_scenario, read_yaml

    try:
        data = read_yaml(args.file)
        if isinstance(data, dict) and "base" in data:
            from models.experiments.spec import load_sweep

            load_sweep(args.file)
        else:
            load_scenario(args.file)
    except ParameterError as exc:
        _error(str(exc))
        return EXIT_USAGE
    print(f"ok: {args.file}")
    return EXIT_OK


def default_run_dir(scenario_name: str, engine: str, seed: int) -> Path:
    """``results/runs/<scenario>-<engine>-<seed>`` under the working directory (names are never paths)."""
    return Path("results") / "runs" / f"{scenario_name}-{engine}-{seed}"


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario once (or reproduce a run or a sweep row), write its time series and a summary."""
    from models import runs
    from models.analysis.regimes import format_ratio as _fmt
    from models.params import check_engine_limits, load_scenario

    point, replicate, extra = 0, 0, {}
    expected_hash = None
    try:
        if args.from_summary:
            scenario, recorded = runs.load_summary(args.from_summary)
            engine, source = recorded["engine"], str(args.from_summary)
            point, replicate = int(recorded.get("point", 0)), int(recorded.get("replicate", 0))
            extra = {k: recorded[k] for k in ("seed_key",) if k in recorded}
            expected_hash = recorded.get("timeseries_content_sha256")
            scenario = with_seed(scenario, recorded["seed"], source)
        elif args.point is not None or args.replicate is not None:
            if args.scenario is None:
                raise ParameterError("--point/--replicate need a sweep spec file")
            scenario, engine, task, extra = runs.sweep_run(args.scenario, args.point or 0, args.replicate or 0)
            point, replicate, source = task[1], task[2], str(args.scenario)
        else:
            if args.scenario is None:
                raise ParameterError("give a scenario file, or --from summary.json")
            scenario, source, engine = load_scenario(args.scenario), str(args.scenario), "batch"
        if args.engine is not None:
            engine = args.engine
        scenario = with_seed(scenario, args.seed, source)
        scenario = runs.with_steps(scenario, args.steps, source)
        check_engine_limits(scenario, engine, source, force=args.force)
    except ParameterError as exc:
        _error(str(exc))
        return EXIT_USAGE
    seed = scenario.simulation.seed
    if args.out:
        out = Path(args.out)
    elif args.from_summary:
        out = None
    else:
        label = f"{extra['sweep']}-p{point}-r{replicate}" if "sweep" in extra else scenario.name
        out = default_run_dir(label, engine, seed)
    try:
        if out is not None:
            runs.check_out_dir(out)
    except runs.OutputError as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        # the seed key: the row's (point, replicate), or (0, replicate) in a common-random-numbers sweep
        frame, headline, seconds = runs.compute(scenario, engine, *extra.get("seed_key", (point, replicate)))
    except ImportError as exc:  # an engine whose optional module is missing in this build
        _error(f"engine {engine!r} is not available: {exc}")
        return EXIT_FAILED
    if scenario.simulation.start_date is not None:  # a dated scenario: each row's calendar date
        from models.replay import with_dates

        frame = with_dates(frame, scenario)
    summary = runs.summary_record(scenario, engine, frame, headline, seconds, source, point, replicate, extra)
    if out is not None:
        try:
            runs.write_outputs(out, frame, summary)
        except OSError as exc:
            _error(f"--out {out}: cannot write ({exc.strerror or exc}); previous outputs are unchanged")
            return EXIT_FAILED
    where = f" -> {out}" if out is not None else ""
    print(
        f"{scenario.name} [{engine}, seed {seed}, point {point}, replicate {replicate}, "
        f"{scenario.simulation.steps} steps]{where}\n"
        f"  final price {_fmt(headline['final_price'], '.4g')} USD, "
        f"providers {_fmt(headline['final_providers'], '.1f')}, users {_fmt(headline['final_users'], '.1f')}\n"
        f"  regime (providers against the unshocked twin): {headline['regime']}, trough "
        f"{_fmt(headline['trough'], '.2f')} of the twin, final {_fmt(headline['final_ratio'], '.2f')}\n"
        f"  regime (providers against the step-{headline['pre_shock_step']} level): {headline['regime_absolute']}, "
        f"trough {_fmt(headline['trough_absolute'], '.2f')}"
    )
    for outcome in headline["shocks"]:
        if outcome["achieved"] is not None and outcome["type"] == "price_crash":
            print(f"  shock {outcome['shock']} ({outcome['type']} by {outcome['actor']}, step "
                  f"{outcome['start_step']}): achieved {outcome['achieved']:.3g} of {outcome['target']:.3g}")
    for warning in headline["warnings"]:
        print(f"  warning: {warning}", file=sys.stderr)
    if expected_hash is not None:
        same = summary["timeseries_content_sha256"] == expected_hash
        print(f"  reproduction of {args.from_summary}: " + ("identical time series" if same else
              f"DIFFERENT time series (recorded {expected_hash[:12]}, now "
              f"{summary['timeseries_content_sha256'][:12]})"))
        return EXIT_OK if same else EXIT_FAILED
    return EXIT_OK


def with_seed(scenario, seed: int | None, source: str):
    """The scenario with ``simulation.seed`` replaced (validated), or unchanged when ``seed`` is None."""
    from models.params import with_overrides

    if seed is None or seed == scenario.simulation.seed:
        return scenario
    try:
        return with_overrides(scenario, {"simulation.seed": int(seed)})
    except ParameterError as exc:
        raise ParameterError(f"{source}: --seed {seed}: {str(exc).replace('<overrides>: ', '')}") from None


def cmd_replay(args: argparse.Namespace) -> int:
    """Run a scenario with its token price held to a real price series (``models.replay``)."""
    from models import replay, runs
    from models.params import check_engine_limits, load_scenario

    try:
        source = str(args.scenario)
        scenario = with_seed(load_scenario(args.scenario), args.seed, source)
        prices = replay.read_price_csv(args.price, args.date_column, args.price_column)
        replayed = replay.replay_scenario(scenario, prices, args.start, args.end, str(args.price))
        check_engine_limits(replayed, args.engine, source, force=args.force)
        out = Path(args.out) if args.out else default_run_dir(f"{scenario.name}-replay", args.engine,
                                                              replayed.simulation.seed)
        runs.check_out_dir(out)
    except (ParameterError, runs.OutputError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    frame, headline, seconds = runs.compute(replayed, args.engine, twin=False)
    frame = replay.with_dates(frame, replayed)
    gap = replay.path_gap(frame, prices)
    extra = {"replay": {"price_file": str(args.price), "start": str(frame["date"].iloc[0].date()),
                        "end": str(frame["date"].iloc[-1].date()), "max_relative_price_gap": gap}}
    summary = runs.summary_record(replayed, args.engine, frame, headline, seconds, source, extra=extra)
    try:
        runs.write_outputs(out, frame, summary)
    except OSError as exc:
        _error(f"--out {out}: cannot write ({exc.strerror or exc}); previous outputs are unchanged")
        return EXIT_FAILED
    print(f"{scenario.name} replayed on {args.price} [{args.engine}, seed {replayed.simulation.seed}, "
          f"{extra['replay']['start']} .. {extra['replay']['end']}, {replayed.simulation.steps} steps] -> {out}\n"
          f"  price held to the series within {gap:.1e} (relative); final providers "
          f"{headline['final_providers']:.1f}, users {headline['final_users']:.1f}")
    for warning in headline["warnings"]:
        print(f"  warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a parameter sweep on Dask (``models.experiments.runner.run_sweep``)."""
    from models.experiments.cluster import ClusterError, check_scheduler_address
    from models.experiments.lock import StoreError
    from models.experiments.runner import SweepFailed, SweepInterrupted, run_sweep
    from models.experiments.spec import load_sweep, points

    try:
        spec = load_sweep(args.spec, force=args.force, quick=args.quick)
        address = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
        if address:
            check_scheduler_address(address)
    except (ParameterError, ValueError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    started = time.perf_counter()
    try:
        root = run_sweep(spec, workers=args.workers, scheduler=args.scheduler, out=args.out or "results",
                         resume=not args.no_resume, allow_mixed=args.allow_mixed, force=args.force)
    except (ParameterError, StoreError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except ClusterError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except SweepInterrupted as exc:
        _error(str(exc))
        return exc.exit_code
    except SweepFailed as exc:
        _error(str(exc))
        return EXIT_FAILED
    print(f"{spec.name}: {spec.replicates} replicates x {len(points(spec))} points ({spec.engine}) -> {root} "
          f"in {time.perf_counter() - started:.1f} s")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Execute every notebook and write the HTML site."""
    from models.site.build import build_report

    notebooks = Path(args.notebooks) if args.notebooks else None
    return build_report(out=Path(args.out), quick=args.quick, notebooks_dir=notebooks,
                        results_dir=Path(args.results) if args.results else None,
                        executed_dir=Path(args.executed) if args.executed else None)


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors on one line (``error: depin run: argument --seed: ...``), exit code 2."""

    def error(self, message: str):
        """Print one line and exit 2 (argparse would print the usage block first)."""
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``depin``."""
    from models.engines import ENGINES

    parser = OneLineParser(
        prog="depin", description="DePIN flywheel lab: validate scenarios, run engines, sweeps and the report."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    p = sub.add_parser("validate", help="check a scenario file; exit 2 with file, field and problem")
    p.add_argument("file", help="scenario YAML file")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="run one scenario once and write timeseries.parquet + summary.json")
    p.add_argument("scenario", nargs="?", help="scenario YAML file (a sweep spec with --point/--replicate)")
    p.add_argument("--engine", choices=ENGINES, default=None,
                   help="engine (default: batch; with --from or --point, the recorded one)")
    p.add_argument("--seed", type=_count(0), default=None, help="root seed (default: simulation.seed)")
    p.add_argument("--steps", type=_count(1), default=None, help="horizon in steps (default: simulation.steps)")
    p.add_argument("--out", default=None, help="output directory (default: results/runs/<name>-<engine>-<seed>)")
    p.add_argument("--from", dest="from_summary", default=None, metavar="SUMMARY_JSON",
                   help="reproduce the run a summary.json records and check its time series is identical")
    p.add_argument("--point", type=_count(0), default=None, help="with a sweep spec: the row's point index")
    p.add_argument("--replicate", type=_count(0), default=None, help="with a sweep spec: the row's replicate")
    p.add_argument("--force", action="store_true", help="allow populations above the ABM agent limit")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("replay", help="run a scenario with its price held to a real price series (CSV)")
    p.add_argument("scenario", help="scenario YAML file (its simulation.start_date is the default start)")
    p.add_argument("--price", required=True, help="CSV of daily or monthly prices in USD")
    p.add_argument("--date-column", default=None, help="date column (default: date, snapped_at, month, ...)")
    p.add_argument("--price-column", default=None, help="price column (default: price_usd, price, close, ...)")
    p.add_argument("--start", default=None, help="first date, YYYY-MM-DD (default: simulation.start_date)")
    p.add_argument("--end", default=None, help="last date, YYYY-MM-DD (default: the series' last date)")
    p.add_argument("--engine", choices=ENGINES, default="batch", help="engine (default: batch)")
    p.add_argument("--seed", type=_count(0), default=None, help="root seed (default: simulation.seed)")
    p.add_argument("--out", default=None, help="output directory (default: results/runs/<name>-replay-<engine>-<seed>)")
    p.add_argument("--force", action="store_true", help="allow populations above the ABM agent limit")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("sweep", help="run a sweep spec on Dask, resumable")
    p.add_argument("spec", help="sweep YAML file")
    p.add_argument("--workers", type=_count(1), default=None, help="local Dask workers (default: CPU count)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address tcp://HOST:PORT (default: $DASK_SCHEDULER_ADDRESS or local)")
    p.add_argument("--out", default=None, help="parent directory of the store (default: results -> results/<sweep>/)")
    p.add_argument("--no-resume", action="store_true",
                   help="recompute everything; the previous store is moved to <name>.replaced-<time>, not deleted")
    p.add_argument("--allow-mixed", action="store_true",
                   help="resume even if stored runs were computed by other model code")
    p.add_argument("--force", action="store_true",
                   help="run sweeps above the size limit and skip the free-space check")
    p.add_argument("--quick", action="store_true",
                   help="run the spec's quick block instead (fewer points and replicates; results in <name>-quick/)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="execute the notebooks and write an HTML site")
    p.add_argument("--quick", action="store_true",
                   help="each notebook's quick parameters (small designs, short horizons: minutes, not an hour)")
    p.epilog = ("A build that finds a problem (a failing notebook, a broken link, a finding that no longer holds) "
                "still publishes its site, marked, and exits 1.")
    p.add_argument("--out", default="site", help="site directory, replaced as a whole when done (default: site)")
    p.add_argument("--results", default=None,
                   help="parent of the sweep stores the notebooks use (default: the project's results/)")
    p.add_argument("--executed", default=None, help="keep the executed notebooks in this directory")
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
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        _error("interrupted by Ctrl-C")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
