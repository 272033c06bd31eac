"""``python -m models.calibration SECTOR [--particles N] [--generations G] [--seed S] [--save] [--resummarise]``.

Fits a sector (``models.calibration.sectors.FITS``) and prints the posterior, the errors in and out of
sample and the wall time; ``--save`` writes the point estimates (best posterior particle) into
``params/sectors/SECTOR.yaml`` (with the date of the fit) and the whole result into
``params/sectors/calibration/SECTOR.json``.
"""

from __future__ import annotations

import argparse
import os

from models.calibration.sectors import FITS, resummarise, run_fit


def main(argv: list[str] | None = None) -> int:
    """Run one fit from the command line."""
    parser = argparse.ArgumentParser(prog="python -m models.calibration", description=__doc__.splitlines()[0])
    parser.add_argument("sector", choices=sorted(FITS))
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", action="store_true", help="write the point estimates into the sector file")
    parser.add_argument("--resummarise", action="store_true",
                        help="summarise the saved posterior again (no new fit)")
    args = parser.parse_args(argv)

    def progress(gen):
        accepted = len(gen.particles) / max(gen.simulations, 1)
        print(f"  tolerance {gen.tolerance:.3f}: {gen.simulations} runs, {accepted:.0%} accepted, "
              f"{gen.seconds:.1f} s", flush=True)

    if args.resummarise:
        result = resummarise(args.sector, args.save)
    else:
        result = run_fit(args.sector, args.particles, args.generations, args.seed, args.save, progress)
    print(result.table.to_string(float_format=lambda v: f"{v:.4g}"))
    for key, value in result.errors.items():
        print(f"  {key}: {value:.4g}" if value is not None else f"  {key}: n/a")
    print(f"wall time {result.seconds:.0f} s on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
