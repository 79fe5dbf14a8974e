"""Days as integers (days since 1970-01-01), vectorised ages, and dates formatted as partners write them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

import numpy as np
from numpy.typing import NDArray

from kinfold.quarters import Quarter

EPOCH: Final = date(1970, 1, 1)
#: Excel's day 0 is 1899-12-30 (it counts a 29 February 1900 that never was).
EXCEL_OFFSET: Final = (EPOCH - date(1899, 12, 30)).days
MISSING: Final = np.iinfo(np.int32).min
YEAR: Final = 365.2425

Days = NDArray[np.int32]


def day(value: date) -> int:
    """A date as days since 1970-01-01."""
    return (value - EPOCH).days


def as_date(days: int) -> date:
    """Days since 1970-01-01 back to a date."""
    return EPOCH + timedelta(days=int(days))


def quarter_days(quarter: Quarter) -> tuple[int, int]:
    """First and last day of a quarter, as day numbers."""
    return day(quarter.start), day(quarter.end)


def ymd(days: Days) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
    """Year, month and day of each day number."""
    d64 = days.astype("datetime64[D]")
    years = d64.astype("datetime64[Y]")
    months = d64.astype("datetime64[M]")
    year = (years.astype(np.int64) + 1970).astype(np.int32)
    month = (months.astype(np.int64) % 12 + 1).astype(np.int32)
    dom = ((d64 - months).astype(np.int64) + 1).astype(np.int32)
    return year, month, dom


def ages(dob: Days, on: int) -> NDArray[np.int16]:
    """Whole years of age on day `on` for each date of birth."""
    y, m, d = ymd(dob)
    ty, tm, td = ymd(np.array([on], dtype=np.int32))
    before_birthday = (m > tm[0]) | ((m == tm[0]) & (d > td[0]))
    result: NDArray[np.int16] = (ty[0] - y - before_birthday).astype(np.int16)
    return result


def format_days(days: Days, fmt: str) -> list[str]:
    """Each day in `fmt` (strftime, or ``excel`` for serial day numbers); MISSING gives ''."""
    if len(days) == 0:
        return []
    unique, inverse = np.unique(days, return_inverse=True)
    texts = [_format_one(int(d), fmt) for d in unique.tolist()]
    table = np.array(texts, dtype=object)
    result: list[str] = table[inverse].tolist()
    return result


def _format_one(days: int, fmt: str) -> str:
    if days == MISSING:
        return ""
    if fmt == "excel":
        return str(days + EXCEL_OFFSET)
    return as_date(days).strftime(fmt)
