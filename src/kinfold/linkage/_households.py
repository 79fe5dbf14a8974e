"""Households: records at the same address, found on encodings.

Every encoded record carries a keyed household token: of its UPRN where the partner holds one,
otherwise of its normalised address and postcode together. Records with equal tokens share an
address. Spelling differences ("12 High St" / "12 High Street, Flat A") are caught by also joining
records whose postcodes are identical, whose addresses hold the same numbers (so number 14 is never
number 12's household) and whose address filters are close (Dice at or above ``min_address_dice``).
Flats told apart only by a letter ("Flat A" / "Flat B") can be joined by that fuzzy step. Households are the connected components; their ids are keyed pseudonyms
(``"H"`` + base32) of the smallest household token in them. The smallest token changes with the
ways partners wrote the address that quarter, so ingest gives a household the id its tokens had
before (``Households.tokens``; docs/ingest.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kinfold.linkage._cluster import components
from kinfold.linkage._compare import dice, overlap
from kinfold.linkage._encode import ADDRESS_NUMBERS_TOKEN, HOUSEHOLD_TOKEN
from kinfold.linkage._keys import pseudonym
from kinfold.linkage._table import EncodedTable, concatenate

RecordKey = tuple[str, str]
#: Postcodes shared by more records than this are compared only through exact tokens.
MAX_POSTCODE_GROUP = 400
#: Records whose address filter lies (nearly) inside another's, at the same postcode and with the
#: same numbers, share a household: one partner writes the area and town after the street
#: ("19 Tagore Walk, Eastbury, Northfield"), another does not ("19 Tagore Walk"), and for a short
#: address the extra words alone pull Dice far below ``min_address_dice`` (to about 0.56 here).
#: Not quite 1: the last word's end mark differs when words follow it. Linkage's location
#: comparison reads addresses the same way (``kinfold.linkage._compare``).
MIN_CONTAINED = 0.9


@dataclass
class Households:
    """Each record's household, and (if persons were given) each household's persons."""

    of_record: dict[RecordKey, str]
    persons: dict[str, set[str]]
    #: Household id → the household tokens (keyed, unsigned 64-bit) of its records.
    tokens: dict[str, set[int]] = field(default_factory=dict)

    def members(self) -> dict[str, list[RecordKey]]:
        """Household id → its records, sorted."""
        found: dict[str, list[RecordKey]] = {}
        for record, household in sorted(self.of_record.items()):
            found.setdefault(household, []).append(record)
        return found


def households(
    tables: Sequence[EncodedTable],
    *,
    namespace: bytes,
    persons: Mapping[RecordKey, str] | None = None,
    min_address_dice: float = 0.75,
) -> Households:
    """Group the records of ``tables`` (one per source) by address; see the module doc.

    Records with no address (no token) are left out. ``persons`` (record → person id, as from
    ``resolve_persons``) adds each household's person ids.
    """
    table = concatenate(tables)
    keys = [(t.source, r) for t in tables for r in t.record_ids.tolist()]
    token = table.tokens[HOUSEHOLD_TOKEN]
    rows = np.flatnonzero(token != 0)
    left, right = _same_token(token, rows)
    near_left, near_right = _near_addresses(table, rows, min_address_dice)
    labels = components(
        len(table), np.concatenate([left, near_left]), np.concatenate([right, near_right])
    )
    names = _names(namespace, labels, token, rows)
    of_record = {keys[r]: names[int(labels[r])] for r in rows.tolist()}
    tokens: dict[str, set[int]] = {}
    for r, value in zip(rows.tolist(), token[rows].tolist(), strict=True):
        tokens.setdefault(names[int(labels[r])], set()).add(value)
    members: dict[str, set[str]] = {}
    if persons is not None:
        for record, household in of_record.items():
            if record in persons:
                members.setdefault(household, set()).add(persons[record])
    return Households(of_record, members, tokens)


def _same_token(
    token: NDArray[np.uint64], rows: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Edges joining each record to the first record with its token."""
    order = rows[np.argsort(token[rows], kind="stable")]
    first = np.r_[True, token[order][1:] != token[order][:-1]]
    head = order[np.flatnonzero(first)][np.cumsum(first) - 1]
    return head, order


def _near_addresses(
    table: EncodedTable, rows: NDArray[np.intp], min_dice: float
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Pairs of records with identical postcode filters and similar address filters."""
    postcode = table.filters["postcode"]
    present = rows[table.popcount("postcode")[rows] > 0]
    if len(present) < 2:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    _, group = np.unique(postcode[present], axis=0, return_inverse=True)
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    lefts, rights = [], []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        size = end - start
        if size < 2 or size > MAX_POSTCODE_GROUP:
            continue
        members = present[order[start:end]]
        i, j = np.triu_indices(size, k=1)
        lefts.append(members[i])
        rights.append(members[j])
    if not lefts:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    li, ri = np.concatenate(lefts), np.concatenate(rights)
    similarity, _, missing = dice(table, table, "address", li, ri)
    contained = overlap(table, table, "address", li, ri)
    numbers = table.tokens[ADDRESS_NUMBERS_TOKEN]
    close = (similarity >= min_dice) | (contained >= MIN_CONTAINED)
    keep = close & ~missing & (numbers[li] == numbers[ri])
    return li[keep], ri[keep]


def _names(
    namespace: bytes, labels: NDArray[np.intp], token: NDArray[np.uint64], rows: NDArray[np.intp]
) -> dict[int, str]:
    smallest: dict[int, int] = {}
    for label, value in zip(labels[rows].tolist(), token[rows].tolist(), strict=True):
        if label not in smallest or value < smallest[label]:
            smallest[label] = value
    return {label: pseudonym(namespace, "H", f"{value:016x}") for label, value in smallest.items()}
