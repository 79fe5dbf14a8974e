"""Households: records at the same address, found on encodings.

Every encoded record carries a keyed household token: of its UPRN where the partner holds one,
otherwise of its normalised address and postcode together. Records with equal tokens share an
address. Spelling differences ("12 High St" / "12 High Street, Flat A") are caught by also joining
records whose postcodes are identical, whose addresses hold the same numbers (so number 14 is never
number 12's household) and whose address filters are close (Dice at or above ``min_address_dice``).
Flats told apart only by a letter ("Flat A" / "Flat B") can be joined by that fuzzy step. Households are the connected components; their ids are keyed pseudonyms
(``"H"`` + base32) of the smallest household token in them. The smallest token changes with the
ways partners wrote the address that quarter, so ingest gives a household the id its tokens had
before (``Households.tokens``; docs/ingest.md). An address written a new way, in a quarter nobody
wrote it a known way, is found among remembered records by the same rule (``near_remembered``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
    keep = _close_addresses(table, table, li, ri, min_dice)
    return li[keep], ri[keep]


def _close_addresses(
    left: EncodedTable,
    right: EncodedTable,
    li: NDArray[np.intp],
    ri: NDArray[np.intp],
    min_dice: float,
) -> NDArray[np.bool_]:
    """Of pairs at one postcode, those that are one address: the same house numbers, and address
    filters close (Dice) or one (nearly) inside the other (``MIN_CONTAINED``)."""
    similarity, _, missing = dice(left, right, "address", li, ri)
    contained = overlap(left, right, "address", li, ri)
    numbers_left, numbers_right = (
        left.tokens[ADDRESS_NUMBERS_TOKEN],
        right.tokens[ADDRESS_NUMBERS_TOKEN],
    )
    close = (similarity >= min_dice) | (contained >= MIN_CONTAINED)
    found: NDArray[np.bool_] = close & ~missing & (numbers_left[li] == numbers_right[ri])
    return found


def near_remembered(
    tables: Sequence[EncodedTable],
    records: Collection[RecordKey],
    memory: EncodedTable,
    *,
    min_address_dice: float = 0.75,
) -> dict[RecordKey, set[int]]:
    """Each of ``records`` (keys of ``tables``' records) → the household tokens of ``memory``'s
    records written close to it: the same postcode, the same house numbers and a close address, the
    rule ``households`` joins records by within a quarter. Records without a postcode or house
    numbers find nothing (a postcode alone holds many addresses); nor does a remembered record
    with the record's own token. ``memory`` must be comparable with ``tables``."""
    if not records or not len(memory):
        return {}
    table = concatenate(tables)
    wanted = set(records)
    keys = [(t.source, r) for t in tables for r in t.record_ids.tolist()]
    rows = np.asarray([i for i, key in enumerate(keys) if key in wanted], dtype=np.intp)
    rows = rows[_addressed(table, rows)]
    kept = np.flatnonzero(_addressed(memory, np.arange(len(memory))))
    if not len(rows) or not len(kept):
        return {}
    # candidate pairs by a digest of (postcode filter, numbers); checked exactly below
    digest = _place_digest(memory, kept)
    order = np.argsort(digest, kind="stable")
    sorted_digest, sorted_rows = digest[order], kept[order]
    wanted_digest = _place_digest(table, rows)
    starts = np.searchsorted(sorted_digest, wanted_digest, side="left")
    ends = np.searchsorted(sorted_digest, wanted_digest, side="right")
    counts = ends - starts
    li = np.repeat(rows, counts)
    ri = sorted_rows[np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])]
    if not len(li):
        return {}
    token, remembered_token = table.tokens[HOUSEHOLD_TOKEN], memory.tokens[HOUSEHOLD_TOKEN]
    same_postcode = np.all(table.filters["postcode"][li] == memory.filters["postcode"][ri], axis=1)
    keep = (
        same_postcode
        & _close_addresses(table, memory, li, ri, min_address_dice)
        & (token[li] != remembered_token[ri])
    )
    found: dict[RecordKey, set[int]] = {}
    for row, value in zip(li[keep].tolist(), remembered_token[ri[keep]].tolist(), strict=True):
        found.setdefault(keys[row], set()).add(value)
    return found


def _addressed(table: EncodedTable, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
    """Which of ``rows`` have a household token, a postcode and house numbers."""
    found: NDArray[np.bool_] = (
        (table.tokens[HOUSEHOLD_TOKEN][rows] != 0)
        & (table.tokens[ADDRESS_NUMBERS_TOKEN][rows] != 0)
        & (table.popcount("postcode")[rows] > 0)
    )
    return found


def _place_digest(table: EncodedTable, rows: NDArray[np.intp]) -> NDArray[np.uint64]:
    """A 64-bit digest (FNV-style, not keyed: the inputs are keyed already) of each row's
    postcode filter and numbers token, to find rows that may share both."""
    words = table.filters["postcode"][rows]
    digest = table.tokens[ADDRESS_NUMBERS_TOKEN][rows].copy()
    prime = np.uint64(0x100000001B3)
    for column in range(words.shape[1]):
        digest = (digest ^ words[:, column]) * prime
    return digest


def _names(
    namespace: bytes, labels: NDArray[np.intp], token: NDArray[np.uint64], rows: NDArray[np.intp]
) -> dict[int, str]:
    smallest: dict[int, int] = {}
    for label, value in zip(labels[rows].tolist(), token[rows].tolist(), strict=True):
        if label not in smallest or value < smallest[label]:
            smallest[label] = value
    return {label: pseudonym(namespace, "H", f"{value:016x}") for label, value in smallest.items()}
