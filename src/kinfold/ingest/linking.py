"""The hub's choices around linkage, on encodings only. Plain Python (no Django), so the benchmark
and tests can run them without a database.

- Which persons named on rows (a parent or carer) are identified well enough to link: a name
  and at least one more thing — a date of birth, an address, a postcode or a reference number.
  A name alone would join any same-named resident; such a carer is reported, not linked.
- Which records cannot be one person: a row's own record and the parent or carer it names (so
  a mother and a daughter of the same name, met at the same address, are never merged).
- Which household each person lives in this quarter, when their records disagree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from kinfold.ingest.partner import RELATED_SOURCE
from kinfold.linkage import EncodedTable
from kinfold.linkage.fields import REFERENCE_FIELDS

RecordKey = tuple[str, str]
#: Besides a name, a person named on a row needs one of these to be linked.
CORROBORATING: Final = ("dob", "address", "postcode")


def linkable(table: EncodedTable) -> NDArray[np.bool_]:
    """Per row: has a given name or surname, and a date of birth, address, postcode or reference."""
    named = np.zeros(len(table), dtype=np.bool_)
    for field in ("given_name", "surname"):
        if field in table.filters:
            named |= table.popcount(field) > 0
    more = np.zeros(len(table), dtype=np.bool_)
    for field in CORROBORATING:
        if field in table.filters:
            more |= table.popcount(field) > 0
    for token in REFERENCE_FIELDS:
        if token in table.tokens:
            values = table.tokens[token]
            more |= (values != 0) if values.ndim == 1 else (values != 0).any(axis=1)
    found: NDArray[np.bool_] = named & more
    return found


def tables_to_link(
    records: Sequence[EncodedTable], related: Sequence[EncodedTable]
) -> tuple[list[EncodedTable], int]:
    """The tables to resolve: every partner's records, and the persons named on rows who are
    identified well enough (:func:`linkable`); returns them and how many named persons were left
    out."""
    tables = list(records)
    left_out = 0
    for table in related:
        keep = linkable(table)
        left_out += int((~keep).sum())
        if keep.any():
            tables.append(table if keep.all() else table.take(np.flatnonzero(keep)))
    return tables, left_out


def named_apart(tables: Sequence[EncodedTable]) -> list[tuple[RecordKey, RecordKey]]:
    """Pairs that cannot be one person: each row's record and the persons it names (a child is
    not their own parent), from the related tables' keys (``<quarter>/<record id>/<n>``)."""
    pairs: list[tuple[RecordKey, RecordKey]] = []
    for table in tables:
        if not table.source.endswith(RELATED_SOURCE):
            continue
        partner = table.source.removesuffix(RELATED_SOURCE)
        for key in table.record_ids.tolist():
            record = key.split("/", 1)[1].rsplit("/", 1)[0]
            pairs.append(((partner, record), (table.source, key)))
    return pairs


def choose_households(
    persons: Mapping[RecordKey, str], of_record: Mapping[RecordKey, str]
) -> dict[str, str]:
    """Each person's household this quarter: the one most of their records give; then the one
    their own records give (rather than an address someone else gave for them, as a school gives
    a contact's); then the smaller id, so the choice is deterministic."""
    total: dict[str, Counter[str]] = defaultdict(Counter)
    own: dict[str, Counter[str]] = defaultdict(Counter)
    for record, household in of_record.items():
        person = persons.get(record)
        if person is None:
            continue
        total[person][household] += 1
        if not record[0].endswith(RELATED_SOURCE):
            own[person][household] += 1
    return {
        person: min(counted, key=lambda h: (-counted[h], -own[person][h], h))
        for person, counted in total.items()
    }
