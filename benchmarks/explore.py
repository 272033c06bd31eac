"""Time the explorer of notebooks/10_explore.ipynb: from a control change to the redrawn figure.

Usage: ``python benchmarks/explore.py [--steps 260] [--repeats 1]``. Builds the ipywidgets UI of
``models.analysis.explore.explorer`` headless, changes one control at a time (as a user would: shock, size,
day, each lever, the seed, every sector) and prints, per change, the seconds to re-run the shocked scenario
with its twin on the batch engine and judge it (``run s``), to redraw the figure into the same matplotlib
figure and encode it as the PNG the widget shows (``draw s``), and the total from the change to the new image
(``total s``). Changes go to choices not seen before, so no run comes from the cache; the last row returns to
a choice seen before (a cache hit: only the redraw). Browser transport is not included (the kernel's side only).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics

from models.analysis import explore

CHANGES = [  # (control, value), applied in order
    ("shock", "price_crash"), ("size", 0.8), ("start_day", 182.0), ("liquidity", 0.1), ("burn_share", 0.5),
    ("schedule", "exponential_decay"), ("pledge_days", 1.0), ("payment", "fee"), ("seed", 7),
    ("shock", "bear_market"), ("sector", "storage"), ("sector", "compute"), ("sector", "ai"), ("sector", "sensor"),
    ("sector", "wireless"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=260)
    parser.add_argument("--repeats", type=int, default=1, help="passes over the changes (cache cleared each)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}, Python {platform.python_version()}; horizon {args.steps} weekly steps")
    print(f"{'control':>12} {'value':>18} {'sector':>9} {'run s':>6} {'draw s':>7} {'total s':>8}  outcome")
    totals = []
    for _ in range(args.repeats):
        explore.clear_cache()
        ui = explore.explorer(explore.Choice(steps=args.steps))
        rows = [("(first draw)", "", ui.timings[-1])]
        for control, value in CHANGES:
            ui.controls[control].value = value
            rows.append((control, value, ui.timings[-1]))
        ui.controls["sector"].value = "wireless"
        for control, value in CHANGES[:1]:
            ui.controls[control].value = value
        rows.append(("(revisit)", "a choice seen before", ui.timings[-1]))
        for control, value, t in rows:
            outcome = "error: " + t["error"][:60] if t["error"] else t["regime"]
            print(f"{control:>12} {str(value):>18} {t['sector']:>9} {t['run_s']:>6.2f} {t['draw_s']:>7.2f} "
                  f"{t['total_s']:>8.2f}  {outcome}")
            if control not in ("(first draw)", "(revisit)"):
                totals.append(t["total_s"])
    print(f"control change to redrawn figure, {len(totals)} changes: median {statistics.median(totals):.2f} s, "
          f"max {max(totals):.2f} s, share within 1 s {sum(t <= 1.0 for t in totals) / len(totals):.0%}")


if __name__ == "__main__":
    main()
