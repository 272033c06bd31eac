"""The table every benchmark script prints: measurement, target, value, pass or fail (and JSON for bench.py)."""

from __future__ import annotations

import json


def print_rows(rows, as_json: bool = False) -> int:
    """Print ``rows`` (measurement, target, value, result) as markdown, then as one JSON line if ``as_json``.

    Returns:
        The exit code: 1 when a row failed, else 0.
    """
    print("| measurement | target | value | result |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if as_json:
        print(json.dumps([list(r) for r in rows]))
    return 0 if all(r[3] != "fail" for r in rows) else 1
