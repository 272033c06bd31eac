"""Parsing of the spreadsheet-style CSV files in ``data/history/`` into tidy frames (used by ``models.history``).

The third-party files are exports of spreadsheets: numbers carry thousands separators (``"1,123,922.92"``),
dollar signs (``"$5,590"``) and percent signs (``"54.00%"``), headers are free text with stray spaces, and
months are written in four different ways. :func:`read_table` turns one such file into a frame with a
``date`` column and numeric columns named with their units, and refuses a file it cannot read with a
``ValueError`` that names the file, the column and the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HISTORY_DIR = Path(__file__).resolve().parent.parent / "data" / "history"
BYTES_PER_EIB = 2.0**60
ATTO = 1e-18

_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_EXAMPLES = {"%Y-%m": "2019-8", "%m/%d/%Y": "10/31/2020", "%b %Y": "Sep 2020", "%m/%Y": "11/2021",
             "%Y-%m-%d": "2020-10-15"}


@dataclass(frozen=True)
class Column:
    """One column of a source file and its tidy name.

    Attributes:
        source: the header in the file, with runs of whitespace collapsed to one space.
        name: the tidy snake_case name, with its unit.
        kind: ``number`` (thousands separators and ``$`` allowed), ``percent`` (``"54.00%"`` -> 0.54) or
            ``text`` (kept as a string).
    """

    source: str
    name: str
    kind: str = "number"


def _english_month(text: str) -> str:
    return _MONTHS.get(text[:3].lower(), text[:3]) + text[3:]


def _header(name: object) -> str:
    return " ".join(str(name).split())


def _rows(mask: pd.Series) -> str:
    """Spreadsheet row numbers (header = row 1) of the first few True entries of ``mask``."""
    rows = [str(i + 2) for i in np.flatnonzero(mask.to_numpy())[:3]]
    return ", ".join(rows) + (", ..." if int(mask.sum()) > 3 else "")


def _open(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: history file not found (expected under {HISTORY_DIR})")
    try:
        raw = pd.read_csv(path, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc
    raw = raw.rename(columns=_header).dropna(how="all").reset_index(drop=True)
    return raw


def parse_dates(values: pd.Series, path: Path, column: str, fmt: str, monthly: bool) -> pd.Series:
    """Dates in ``fmt`` (strict); monthly dates are moved to the first day of their month.

    Raises:
        ValueError: a cell is empty or not a date in ``fmt``; names the file, column and rows.
    """
    text = values.astype("string").str.strip()
    shown = _EXAMPLES.get(fmt, fmt)
    if "%b" in fmt:  # English month names, independent of the locale
        text = text.map(_english_month, na_action="ignore")
        fmt = fmt.replace("%b", "%m")
    dates = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = dates.isna()
    if bad.any():
        first = values[bad].iloc[0]
        raise ValueError(f"{path}: column {column!r} has a value that is not a date like "
                         f"{shown!r}: {first!r} (row {_rows(bad)})")
    if monthly:
        dates = dates.dt.to_period("M").dt.to_timestamp()
    return dates.astype("datetime64[us]")


def parse_numbers(values: pd.Series, path: Path, column: str, kind: str) -> pd.Series:
    """Floats from spreadsheet text: ``"1,234.5"``, ``"$5,590"``, ``"-487,461"``, ``"54.00%"`` (percent).

    Empty cells become NaN. Raises ValueError naming the file, column and rows for anything else.
    """
    text = values.astype("string").str.strip().replace("", pd.NA)
    cleaned = text.str.replace(",", "", regex=False).str.replace("$", "", regex=False)
    if kind == "percent":
        not_pct = text.notna() & ~text.str.endswith("%").fillna(False)
        if not_pct.any():
            raise ValueError(f"{path}: column {column!r} should hold percentages like '54.00%'; row "
                             f"{_rows(not_pct)} has {text[not_pct].iloc[0]!r}")
        cleaned = cleaned.str.removesuffix("%")
    numbers = pd.to_numeric(cleaned, errors="coerce").astype(float)
    bad = text.notna() & ~np.isfinite(numbers.fillna(0.0))
    bad |= text.notna() & numbers.isna()
    if bad.any():
        raise ValueError(f"{path}: column {column!r} has a value that is not a number: "
                         f"{text[bad].iloc[0]!r} (row {_rows(bad)})")
    return numbers / 100.0 if kind == "percent" else numbers


def read_table(path: str | Path, date_column: str, date_format: str, columns: Sequence[Column],
               monthly: bool = True) -> pd.DataFrame:
    """Read one history file into a tidy frame: ``date`` then ``columns`` under their tidy names.

    Args:
        path: the CSV file.
        date_column: header of the date column.
        date_format: strptime format of its cells (``%b`` = English month abbreviation).
        columns: the columns to keep, in output order; other columns of the file are ignored.
        monthly: move dates to the first day of their month.

    Returns:
        Frame sorted by ``date`` (datetime64, timezone-naive, unique) with a default index.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unreadable file, a missing column, no rows, a cell that does not parse, or a date
            that appears more than once; the message names the file and the column.
    """
    path = Path(path)
    raw = _open(path)
    wanted = [date_column, *(c.source for c in columns)]
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, missing))}; "
                         f"found {', '.join(map(repr, raw.columns))}")
    if raw.empty:
        raise ValueError(f"{path}: no rows")
    out = {"date": parse_dates(raw[date_column], path, date_column, date_format, monthly)}
    for col in columns:
        if col.kind == "text":
            out[col.name] = raw[col.source].astype("string").str.strip().replace("", pd.NA)
        else:
            out[col.name] = parse_numbers(raw[col.source], path, col.source, col.kind)
    frame = pd.DataFrame(out)
    dup = frame["date"].duplicated()
    if dup.any():
        raise ValueError(f"{path}: column {date_column!r}: date {frame['date'][dup].iloc[0].date()} appears "
                         f"more than once (row {_rows(dup)})")
    return frame.sort_values("date", kind="stable").reset_index(drop=True)
