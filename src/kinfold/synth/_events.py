"""From a partner's rows to the true indicator events they carry, and the rows' record ids.

The indicator each row yields here is exactly what the partner's schema (config/schemas/) makes of
the row in its extract: a test reads every extract back through its schema and compares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kinfold.synth._circumstances import (
    ASB,
    CHILD_IN_NEED,
    CRIME,
    DOMESTIC,
    EARLY_HELP,
    EVICTION,
    FIXED,
    HOUSING_ASB,
    INJURY,
    INTO_WORK,
    LOOKED_AFTER,
    MARAC,
    MENTAL_HEALTH,
    PERMANENT,
    PROTECTION_PLAN,
    SUPPORT,
    PartnerRows,
)
from kinfold.synth.truth import PROBLEM_OF_CODE

CODES: tuple[str, ...] = tuple(PROBLEM_OF_CODE)
CODE_INDEX = {code: i for i, code in enumerate(CODES)}

I64 = NDArray[np.int64]


@dataclass
class Events:
    """True indicator events: row (index into the partner's rows), code index, day, value (NaN)."""

    row: I64
    code: NDArray[np.int16]
    day: NDArray[np.int32]
    value: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.row)


def _events(
    rows: I64, code: str, day: NDArray[np.integer] | int, value: NDArray[np.float64] | None = None
) -> Events:
    count = len(rows)
    days = np.broadcast_to(np.asarray(day, dtype=np.int32), (count,)).copy()
    values = np.full(count, np.nan) if value is None else value.astype(np.float64)
    return Events(rows.astype(np.int64), np.full(count, CODE_INDEX[code], np.int16), days, values)


def _where(mask: NDArray[np.bool_]) -> I64:
    return np.flatnonzero(mask).astype(np.int64)


def _join(parts: list[Events]) -> Events:
    if not parts:
        return Events(
            np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int32), np.zeros(0)
        )
    return Events(
        np.concatenate([p.row for p in parts]),
        np.concatenate([p.code for p in parts]),
        np.concatenate([p.day for p in parts]),
        np.concatenate([p.value for p in parts]),
    )


def events(rows: PartnerRows, quarter_end: int) -> Events:
    """The indicator events a partner's rows carry (snapshots are dated at the quarter's end)."""
    c = rows.columns
    n = len(rows)
    everyone = np.arange(n, dtype=np.int64)
    match rows.partner:
        case "police":
            kind = c["kind"] if n else np.zeros(0, np.int8)
            parts = [
                _events(
                    _where(kind == CRIME), "police.offence", c["day"][kind == CRIME] if n else 0
                ),
                _events(
                    _where(kind == ASB), "police.asb_incident", c["day"][kind == ASB] if n else 0
                ),
                _events(
                    _where(kind == DOMESTIC),
                    "police.domestic_incident",
                    c["day"][kind == DOMESTIC] if n else 0,
                ),
            ]
        case "yos":
            parts = [_events(everyone, "yos.youth_offence", c["day"] if n else 0)]
        case "probation":
            parts = [_events(everyone, "probation.supervision", quarter_end)]
        case "schools":
            parts = _school_events(rows, quarter_end)
        case "csc":
            parts = (
                [
                    _events(_where(c["level"] == level), code, quarter_end)
                    for level, code in (
                        (EARLY_HELP, "csc.early_help"),
                        (CHILD_IN_NEED, "csc.child_in_need"),
                        (PROTECTION_PLAN, "csc.child_protection_plan"),
                        (LOOKED_AFTER, "csc.looked_after"),
                    )
                ]
                if n
                else []
            )
        case "dwp":
            parts = [_events(everyone, "dwp.out_of_work_benefit", quarter_end)]
            if n:
                work = c["ended"] == INTO_WORK
                parts.append(_events(_where(work), "dwp.into_work", c["job_start"][work]))
        case "housing":
            parts = _by_kind(
                rows,
                ((HOUSING_ASB, "housing.asb_case"), (1, "housing.rent_arrears"),
                 (EVICTION, "housing.eviction_notice")),
            )  # fmt: skip
        case "das":
            parts = _by_kind(rows, ((MARAC, "das.marac_referral"), (SUPPORT, "das.support_case")))
        case "health":
            parts = _by_kind(
                rows, ((MENTAL_HEALTH, "health.mental_health"), (INJURY, "health.ae_injury"))
            )
        case "substance":
            parts = [_events(everyone, "substance.treatment", c["day"] if n else 0)]
        case other:
            raise ValueError(f"unknown partner {other}")
    return _join(parts)


def _by_kind(rows: PartnerRows, kinds: tuple[tuple[int, str], ...]) -> list[Events]:
    if not len(rows):
        return []
    kind = rows.columns["kind"]
    return [_events(_where(kind == k), code, rows.columns["day"][kind == k]) for k, code in kinds]


def _school_events(rows: PartnerRows, quarter_end: int) -> list[Events]:
    n = len(rows)
    if not n:
        return []
    c = rows.columns
    everyone = np.arange(n, dtype=np.int64)
    fixed = c["exclusion"] == FIXED
    permanent = c["exclusion"] == PERMANENT
    return [
        _events(everyone, "school.attendance", quarter_end, c["percent"]),
        _events(_where(fixed), "school.exclusion_fixed", c["exclusion_day"][fixed]),
        _events(_where(permanent), "school.exclusion_permanent", c["exclusion_day"][permanent]),
        _events(_where(c["ap"]), "school.alternative_provision", quarter_end),
    ]


# -- record ids ---------------------------------------------------------------------------------

# Partners that keep one reference per person (case, pupil, claimant, client numbers) scramble the
# person id into it; partners that number occurrences or attendances count. Each scramble is a
# bijection on 0..10^7-1, so references never collide within a file.
_SCRAMBLE_MODULUS = 10_000_000
_SCRAMBLES = {
    "probation": (7_654_321, 1_234_567),
    "schools": (3_141_593, 2_718_281),
    "csc": (1_299_709, 4_466_441),
    "dwp": (9_999_991, 3_333_331),
    "substance": (2_222_227, 5_555_553),
}
#: Duplicate rows get references from a range primary rows never use.
DUPLICATE_OFFSET = 90_000_000


def scrambled(pids: I64, partner: str) -> I64:
    """A stable per-person reference number for a partner (0..9,999,999)."""
    multiplier, offset = _SCRAMBLES[partner]
    return (pids.astype(np.int64) * multiplier + offset) % _SCRAMBLE_MODULUS


class RecordNumbers:
    """Running counters for partners that number each row (police, yos, housing, das, health)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, partner: str, count: int) -> I64:
        """`count` fresh numbers for `partner`."""
        start = self.next.get(partner, 1)
        self.next[partner] = start + count
        return np.arange(start, start + count, dtype=np.int64)


def record_ids(
    rows: PartnerRows, pids: I64, year: int, numbers: RecordNumbers, duplicate: bool = False
) -> list[str]:
    """Each row's record id in the partner's own style (unique within the quarter's file)."""
    partner = rows.partner
    n = len(rows)
    extra = DUPLICATE_OFFSET if duplicate else 0
    if partner in _SCRAMBLES:
        refs = (scrambled(pids, partner) + extra).tolist()
    else:
        # Duplicates count on their own, so primary ids do not depend on whether extracts are written.
        key = f"{partner}/duplicates" if duplicate else partner
        refs = (numbers.take(key, n) + extra).tolist()
    match partner:
        case "police":
            occurrence = rows.columns["occurrence"].tolist() if n else []
            return [
                f"NF/{year % 100:02d}/{o:07d}-{r}" for o, r in zip(occurrence, refs, strict=True)
            ]
        case "yos":
            return [f"YJ{r:07d}" for r in refs]
        case "probation":
            return [f"{'ABCDEFGHJKLMNPRSTUVWXYZ'[r % 23]}{r:08d}" for r in refs]
        case "schools":
            return [f"{r:08d}" for r in refs]
        case "csc":
            return [f"C{r:08d}" for r in refs]
        case "dwp":
            return [f"{r:09d}" for r in refs]
        case "housing":
            return [f"HC-{r:07d}" for r in refs]
        case "das":
            return [f"DA{year}-{r:06d}" for r in refs]
        case "health":
            return [f"ATT{r:010d}" for r in refs]
        case "substance":
            return [f"NR{r:08d}" for r in refs]
    raise ValueError(f"unknown partner {partner}")
