"""Resolving persons across sources and quarters, with person ids that stay put.

The hub keeps a :class:`PersonIndex`: for every person it has seen, a few of their most recent
encoded records (``keep_per_source`` per source, ``keep_per_person`` in all) under their person id.
Each quarter, :func:`resolve_persons` links the quarter's encoded tables from every partner with each
other and with the remembered records, then clusters (best first, never joining two groups that a
compared pair between them says are different people; see ``_cluster.constrained_clusters``) over

- each remembered record and its person (so a known person is never split),
- a partner's record id seen again (the same ``(source, record id)`` as a remembered record), and
- links whose match probability reaches the threshold.

A component holding one known person keeps that person's id, whichever partners or addresses its
records now come from. A component holding several known persons merges them: the one with most
remembered records in it keeps its id (ties: the smaller id) and the others are recorded as retired
into it. A component with none is a new person, named by an opaque keyed pseudonym
(``"P"`` + 13 base32 characters = 65 bits) of the quarter and its smallest record key under the
index's namespace: deterministic, and meaningless outside this council's index.

Remembered records of two known persons are never re-compared, so a quarter cannot split or merge
the past except through new evidence. And the caller can veto a merge: given the groups of known
persons that components would join, ``persons_apart`` names pairs of them known to be different
people (the hub: two persons it placed in different households in the same quarter); clustering is
kept from joining them, as it keeps apart records scored different, so that a record which looks
like both joins the likelier one instead of merging them.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from kinfold.errors import InputError
from kinfold.linkage._cluster import NO_LATEST, NO_YEAR, constrained_clusters
from kinfold.linkage._keys import pseudonym
from kinfold.linkage._link import Links, score_dedupe
from kinfold.linkage._settings import Settings
from kinfold.linkage._table import EncodedTable, concatenate

FORMAT: Final = "kinfold-person-index"
VERSION: Final = 1
Strings = NDArray[np.str_]
RecordKey = tuple[str, str]
#: Given groups of known person ids that clustering would merge, the pairs that must stay apart.
PersonsApart = Callable[[Sequence[Sequence[str]]], Iterable[tuple[str, str]]]


@dataclass
class PersonIndex:
    """The hub's memory of persons: serialisable with :meth:`to_bytes` / :meth:`write`."""

    namespace: bytes
    memory: EncodedTable | None = None
    sources: Strings = field(default_factory=lambda: np.zeros(0, dtype=np.str_))
    persons: Strings = field(default_factory=lambda: np.zeros(0, dtype=np.str_))
    quarters: Strings = field(default_factory=lambda: np.zeros(0, dtype=np.str_))
    retired: dict[str, str] = field(default_factory=dict)
    resolved: tuple[str, ...] = ()

    @classmethod
    def new(cls, namespace: bytes | None = None) -> PersonIndex:
        """An empty index. ``namespace`` (random if None) keys the person ids it makes."""
        return cls(namespace if namespace is not None else secrets.token_bytes(32))

    def __len__(self) -> int:
        """How many persons the index remembers."""
        return len(np.unique(self.persons))

    def person_ids(self) -> list[str]:
        """Every remembered person id, sorted."""
        found: list[str] = np.unique(self.persons).tolist()
        return found

    def current(self, person_id: str) -> str:
        """The id a person goes by now (following merges)."""
        seen = set()
        while person_id in self.retired and person_id not in seen:
            seen.add(person_id)
            person_id = self.retired[person_id]
        return person_id

    def to_bytes(self) -> bytes:
        """The index as bytes (a ZIP of NumPy arrays, like the encoded file format)."""
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "namespace": self.namespace.hex(),
            "retired": self.retired,
            "resolved": list(self.resolved),
        }
        arrays: dict[str, NDArray[Any]] = {
            "header": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "sources": _blob(self.sources),
            "persons": _blob(self.persons),
            "quarters": _blob(self.quarters),
        }
        if self.memory is not None:
            arrays["memory"] = np.frombuffer(self.memory.to_bytes(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, where: str | Path | None = None) -> PersonIndex:
        """Read what :meth:`to_bytes` wrote."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays["header"].tobytes().decode())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise InputError("is not a kinfold person index", file=where) from exc
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise InputError(f"is not a {FORMAT} of version {VERSION}", file=where)
        memory = None
        if "memory" in arrays:
            memory = EncodedTable.from_bytes(arrays["memory"].tobytes(), where)
        return cls(
            bytes.fromhex(meta["namespace"]),
            memory,
            _unblob(arrays["sources"]),
            _unblob(arrays["persons"]),
            _unblob(arrays["quarters"]),
            dict(meta["retired"]),
            tuple(meta["resolved"]),
        )

    def write(self, path: str | Path) -> None:
        """Write to ``path`` atomically."""
        path = Path(path)
        handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(self.to_bytes())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def read(cls, path: str | Path) -> PersonIndex:
        """Read an index file."""
        try:
            return cls.from_bytes(Path(path).read_bytes(), where=path)
        except FileNotFoundError as exc:
            raise InputError("file not found", file=path) from exc


@dataclass(frozen=True)
class Births:
    """Years of birth the caller knows, for checks in clustering: nobody joins a person whose
    latest possible year of birth is earlier than their own (the hub: someone named as a child's
    parent or carer is older than the child), nor, with ``spread``, one whose years of birth are
    more than ``spread`` apart from theirs. Records of this quarter by ``(source, record id)``,
    known persons by person id; each year a record gives (``years``, ``known_years``) and the
    latest year it allows (``latest``, ``known_latest``)."""

    years: Mapping[RecordKey, int] = field(default_factory=dict)
    latest: Mapping[RecordKey, int] = field(default_factory=dict)
    known_years: Mapping[str, int] = field(default_factory=dict)
    known_latest: Mapping[str, int] = field(default_factory=dict)
    #: If given, nobody joins a person whose years of birth are more than this apart from theirs.
    spread: int | None = None

    def of(
        self, work: _Workspace, person_names: Strings
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Per node of clustering (the workspace's rows, then one per known person): the year
        of birth and the latest year allowed, ``NO_YEAR`` / ``NO_LATEST`` where none is known."""
        rows = len(work)
        years = np.full(rows + len(person_names), NO_YEAR, dtype=np.intp)
        latest = np.full(rows + len(person_names), NO_LATEST, dtype=np.intp)
        if self.years or self.latest:
            start = work.remembered
            keys = zip(work.sources[start:].tolist(), work.record_ids[start:].tolist(), strict=True)
            for row, key in enumerate(keys, start):
                years[row] = self.years.get(key, NO_YEAR)
                latest[row] = self.latest.get(key, NO_LATEST)
        for n, person in enumerate(person_names.tolist()):
            years[rows + n] = self.known_years.get(person, NO_YEAR)
            latest[rows + n] = self.known_latest.get(person, NO_LATEST)
        return years, latest


@dataclass
class Resolution:
    """A quarter resolved: each record's person, the updated index and what changed."""

    persons: dict[RecordKey, str]
    index: PersonIndex
    new_persons: list[str]
    merged: dict[str, str]
    links: Links | None
    notes: list[str] = field(default_factory=list)

    def person_of(self, source: str, record_id: str) -> str:
        """The person id of one of this quarter's records."""
        return self.persons[(source, record_id)]


def resolve_persons(
    tables: Sequence[EncodedTable],
    index: PersonIndex,
    *,
    quarter: str,
    settings: Settings | None = None,
    apart: Sequence[tuple[RecordKey, RecordKey]] = (),
    persons_apart: PersonsApart | None = None,
    unlinked: Sequence[RecordKey] = (),
    continues: Sequence[tuple[RecordKey, RecordKey]] = (),
    apart_unless_known: Sequence[tuple[RecordKey, RecordKey]] = (),
    not_linked: Sequence[tuple[RecordKey, RecordKey]] = (),
    births: Births | None = None,
) -> Resolution:
    """Resolve this quarter's encoded tables (one per source) into persons; see the module doc.

    Returns record → person id for every record of ``tables`` and the updated index (``index`` itself
    is not changed). Deterministic: the same tables and index give the same ids. ``apart`` names
    pairs of this quarter's records (``(source, record id)``) known to be different people — a
    child and the parent its row names — which clustering keeps apart like pairs scored different.
    ``persons_apart`` vetoes merges of known persons (see the module doc). ``unlinked`` names
    records of this quarter, or remembered ones, that no scored link may join (too little to tell
    whose they are): each is a person of its own, unless its partner record id was seen before.
    ``continues`` names pairs (this quarter's record, a remembered record) known to be one
    person, joined like a partner's record id seen again (the hub: a parent named again on the
    same child's row by exactly the same name); pairs whose remembered record is no longer in the
    index are skipped. ``apart_unless_known`` names pairs kept apart like ``apart`` unless both
    records are known to be one known person's: each continues them (its partner record id seen
    again, or ``continues``) or links to one of their remembered records at ``SURE`` or more.
    ``not_linked`` names pairs (this quarter's record, a remembered record) whose scored link is
    dropped: too little to go on between them, though either may link elsewhere. ``births``
    keeps a scored link from joining someone to a person whose latest possible year of birth
    is earlier than theirs (:class:`Births`).
    """
    settings = settings or Settings.default()
    _check_sources(tables)
    notes: list[str] = []
    memory = index.memory
    if memory is not None and len(memory) and memory.header.comparable_with(tables[0].header):
        notes.append(
            "the remembered encodings were made with another secret or settings: this quarter "
            "matches them on partner record ids only"
        )
        memory = None
    work = _Workspace.build(index, memory, tables)
    links = _without(_link_quarter(work, settings), work, unlinked)
    links = _without_pairs(links, work, not_linked)
    continuing = _continuing_rows(work, continues)
    owners = _known_owners(work, links, continuing) if apart_unless_known else {}
    doubted = [
        (a, b) for a, b in apart_unless_known if not (owners.get(a, {""}) & owners.get(b, {"-"}))
    ]
    labels = _components(
        work, links, _apart_rows(work, [*apart, *doubted]), persons_apart, continuing, births
    )
    persons, new, merged = _name(work, index, labels, quarter)
    updated = _remember(work, index, persons, merged, quarter, settings)
    found = {
        (str(s), str(r)): persons[i]
        for i, (s, r) in enumerate(zip(work.sources, work.record_ids, strict=True))
        if i >= work.remembered
    }
    return Resolution(found, updated, new, merged, links, notes)


def _check_sources(tables: Sequence[EncodedTable]) -> None:
    if not tables:
        raise InputError("no encoded tables to resolve")
    names = [t.source for t in tables]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise InputError(f"every table needs its own source name; got {names}")
    for table in tables[1:]:
        reason = tables[0].header.comparable_with(table.header)
        if reason:
            raise InputError(f"cannot resolve {table.source!r} with {tables[0].source!r}: {reason}")


@dataclass
class _Workspace:
    """Remembered rows first (``remembered`` of them), then this quarter's rows."""

    table: EncodedTable | None  # encodings of the rows that have them (all but forgotten memory)
    encoded_from: int  # row number where `table` starts (0, or `remembered` if memory unusable)
    remembered: int
    sources: Strings
    record_ids: Strings
    old_persons: Strings  # remembered rows' person ids ('' for this quarter's rows)
    old_quarters: Strings

    @classmethod
    def build(
        cls, index: PersonIndex, memory: EncodedTable | None, tables: Sequence[EncodedTable]
    ) -> _Workspace:
        remembered = len(index.persons)
        quarter_rows = concatenate(tables)
        if memory is not None and len(memory):
            table, start = concatenate([memory, quarter_rows]), 0
            old_ids = memory.record_ids
        else:
            table, start = quarter_rows, remembered
            old_ids = index.memory.record_ids if index.memory is not None else np.zeros(0, np.str_)
        sources = np.concatenate([index.sources, *(np.full(len(t), t.source) for t in tables)])
        record_ids = np.concatenate([old_ids, *(t.record_ids for t in tables)])
        blank = np.full(len(quarter_rows), "")
        return cls(
            table,
            start,
            remembered,
            sources,
            record_ids,
            np.concatenate([index.persons, blank]),
            np.concatenate([index.quarters, blank]),
        )

    def __len__(self) -> int:
        return len(self.sources)


def _link_quarter(work: _Workspace, settings: Settings) -> Links | None:
    if work.table is None or len(work.table) < 2:
        return None
    first_new = work.remembered - work.encoded_from  # rows of `table` below this are remembered

    def compare(li: NDArray[np.intp], ri: NDArray[np.intp]) -> NDArray[np.bool_]:
        # the past is settled: remembered records are only compared with this quarter's
        keep: NDArray[np.bool_] = (li >= first_new) | (ri >= first_new)
        return keep

    return score_dedupe(work.table, settings, compare=compare, groups=_groups(work))


def _groups(work: _Workspace) -> NDArray[np.intp]:
    """Per row of ``work.table``, a number for where it comes from: its source, and remembered
    records apart from this quarter's (how often two records are one person differs by both)."""
    sources = work.sources[work.encoded_from :]
    remembered = np.arange(work.encoded_from, len(work)) < work.remembered
    labels = np.char.add(np.where(remembered, "remembered\x1f", ""), sources)
    _, groups = np.unique(labels, return_inverse=True)
    found: NDArray[np.intp] = groups.astype(np.intp).ravel()
    return found


def _without(links: Links | None, work: _Workspace, records: Sequence[RecordKey]) -> Links | None:
    """``links`` without those touching one of ``records`` (this quarter's or remembered)."""
    if links is None or not records or not len(links):
        return links
    wanted = set(records)
    rows = np.asarray(
        [
            i - work.encoded_from
            for i in range(work.encoded_from, len(work))
            if (str(work.sources[i]), str(work.record_ids[i])) in wanted
        ],
        dtype=np.intp,
    )
    keep = ~(np.isin(links.left_rows, rows) | np.isin(links.right_rows, rows))
    return links.select(keep)


#: A link this likely to a remembered record ties a record to that record's person.
SURE: Final = 0.99


def _known_owners(
    work: _Workspace,
    links: Links | None,
    continuing: tuple[NDArray[np.intp], NDArray[np.intp]],
) -> dict[RecordKey, set[str]]:
    """This quarter's records that are surely a known person's, with whose: their partner record id
    seen again, named again (``continuing``), or a link at ``SURE`` or more to a remembered
    record."""
    old_rows, new_rows = _continuity(work)
    pairs = [
        (int(n), int(o))
        for o, n in zip(
            [*old_rows.tolist(), *continuing[0].tolist()],
            [*new_rows.tolist(), *continuing[1].tolist()],
            strict=True,
        )
    ]
    if links is not None and len(links):
        left = links.left_rows + work.encoded_from
        right = links.right_rows + work.encoded_from
        sure = links.probability >= SURE
        for a, b in zip(left[sure].tolist(), right[sure].tolist(), strict=True):
            if (a < work.remembered) != (b < work.remembered):
                pairs.append((max(a, b), min(a, b)))
    owners: dict[RecordKey, set[str]] = {}
    for new, old in pairs:
        key = (str(work.sources[new]), str(work.record_ids[new]))
        owners.setdefault(key, set()).add(str(work.old_persons[old]))
    return owners


def _without_pairs(
    links: Links | None, work: _Workspace, pairs: Sequence[tuple[RecordKey, RecordKey]]
) -> Links | None:
    """``links`` without those between the (this quarter's record, remembered record) ``pairs``."""
    if links is None or not pairs or not len(links):
        return links
    new_of = _rows_of(work, work.remembered, len(work))
    old_of: dict[RecordKey, list[int]] = {}
    for row in range(work.encoded_from, work.remembered):
        old_of.setdefault((str(work.sources[row]), str(work.record_ids[row])), []).append(row)
    size = len(work)
    codes = [
        new_of[new] * size + old
        for new, remembered in pairs
        if new in new_of
        for old in old_of.get(remembered, ())
    ]
    if not codes:
        return links
    left = links.left_rows.astype(np.int64) + work.encoded_from
    right = links.right_rows.astype(np.int64) + work.encoded_from
    code = np.maximum(left, right) * size + np.minimum(left, right)
    return links.select(~np.isin(code, np.asarray(codes, dtype=np.int64)))


def _apart_rows(
    work: _Workspace, apart: Sequence[tuple[RecordKey, RecordKey]]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Workspace rows of the given pairs of this quarter's records (unknown records are skipped)."""
    row_of = _rows_of(work, work.remembered, len(work))
    return _row_pairs([(row_of[a], row_of[b]) for a, b in apart if a in row_of and b in row_of])


def _continuing_rows(
    work: _Workspace, pairs: Sequence[tuple[RecordKey, RecordKey]]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Workspace rows (remembered, this quarter's) of ``continues`` pairs both found."""
    if not pairs:
        return _row_pairs([])
    old_of = _rows_of(work, 0, work.remembered)
    new_of = _rows_of(work, work.remembered, len(work))
    return _row_pairs([(old_of[b], new_of[a]) for a, b in pairs if a in new_of and b in old_of])


def _rows_of(work: _Workspace, start: int, stop: int) -> dict[RecordKey, int]:
    """(source, record id) → workspace row, for rows ``start`` to ``stop``."""
    return {
        (str(s), str(r)): i
        for i, (s, r) in enumerate(
            zip(work.sources[start:stop], work.record_ids[start:stop], strict=True), start=start
        )
    }


def _row_pairs(pairs: list[tuple[int, int]]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    found = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    return found[:, 0].copy(), found[:, 1].copy()


def _components(
    work: _Workspace,
    links: Links | None,
    known_apart: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None,
    persons_apart: PersonsApart | None = None,
    continuing: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None,
    births: Births | None = None,
) -> NDArray[np.intp]:
    rows = len(work)
    person_names, person_of_row = np.unique(
        work.old_persons[: work.remembered], return_inverse=True
    )
    person_node = rows + person_of_row  # one extra node per known person
    old_rows, new_rows = _continuity(work)
    if continuing is not None and len(continuing[0]):
        old_rows = np.concatenate([old_rows, continuing[0]])
        new_rows = np.concatenate([new_rows, continuing[1]])
    left = [np.arange(work.remembered), old_rows]
    right = [person_node, new_rows]
    score = [np.full(work.remembered + len(old_rows), np.inf)]  # known: taken first
    apart_left, apart_right = np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    if links is not None and len(links):
        left.append(links.left_rows + work.encoded_from)
        right.append(links.right_rows + work.encoded_from)
        score.append(links.probability)
        apart_left = links.apart[0] + work.encoded_from
        apart_right = links.apart[1] + work.encoded_from
    if known_apart is not None and len(known_apart[0]):
        apart_left = np.concatenate([apart_left, known_apart[0]])
        apart_right = np.concatenate([apart_right, known_apart[1]])
    may_join = None
    if persons_apart is not None:
        names = person_names.tolist()

        def may_join(group_a: Sequence[int], group_b: Sequence[int]) -> bool:
            mine = {names[node - rows] for node in group_a}
            theirs = {names[node - rows] for node in group_b}
            together = sorted(mine | theirs)
            return not any(
                (a in mine and b in theirs) or (a in theirs and b in mine)
                for a, b in persons_apart([together])
            )

    labels = constrained_clusters(
        rows + len(person_names),
        np.concatenate(left),
        np.concatenate(right),
        np.concatenate(score),
        apart_left,
        apart_right,
        may_join,
        rows,
        births.of(work, person_names) if births is not None else None,
        births.spread if births is not None else None,
    )
    return labels[:rows]


def _continuity(work: _Workspace) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Pairs (remembered row, new row) with the same source and partner record id."""
    if work.remembered == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    keys = np.char.add(np.char.add(work.sources, "\x1f"), work.record_ids)
    old, new = keys[: work.remembered], keys[work.remembered :]
    _, old_rows, new_rows = np.intersect1d(old, new, return_indices=True)
    return old_rows.astype(np.intp), (new_rows + work.remembered).astype(np.intp)


def _name(
    work: _Workspace, index: PersonIndex, labels: NDArray[np.intp], quarter: str
) -> tuple[list[str], list[str], dict[str, str]]:
    """Person id per row; the new ids; merges (retired id → surviving id)."""
    persons = [""] * len(work)
    members: dict[int, list[int]] = {}
    for row, label in enumerate(labels.tolist()):
        members.setdefault(label, []).append(row)
    taken = set(index.persons.tolist()) | set(index.retired)
    new: list[str] = []
    merged: dict[str, str] = {}
    survivors: set[str] = set()
    for rows in members.values():
        known = [str(work.old_persons[r]) for r in rows if r < work.remembered]
        if known:
            counts: dict[str, int] = {}
            for person in known:
                counts[person] = counts.get(person, 0) + 1
            survivor = min(counts, key=lambda p: (-counts[p], p))
            merged.update({p: survivor for p in counts if p != survivor})
        else:
            keys = sorted(f"{work.sources[r]}\x1f{work.record_ids[r]}" for r in rows)
            survivor = _new_id(index.namespace, quarter, keys[0], taken)
            taken.add(survivor)
            new.append(survivor)
        survivors.add(survivor)
        for row in rows:
            persons[row] = survivor
    # A person whose records split between groups, keeping its id in one, is not retired: only
    # some of its records went to another person. (Recording it as retired as well left a person
    # both live and merged, and the next merge of it retired it a second time.)
    merged = {p: s for p, s in merged.items() if p not in survivors}
    return persons, sorted(new), merged


def _new_id(namespace: bytes, quarter: str, key: str, taken: set[str]) -> str:
    material, attempt = f"{quarter}\x1f{key}", 0
    while True:
        candidate = pseudonym(namespace, "P", material if not attempt else f"{material}#{attempt}")
        if candidate not in taken:
            return candidate
        attempt += 1


def _remember(
    work: _Workspace,
    index: PersonIndex,
    persons: list[str],
    merged: Mapping[str, str],
    quarter: str,
    settings: Settings,
) -> PersonIndex:
    """The index after this quarter: recent encoded records per person, merges recorded."""
    if work.table is None:
        return index
    rows = np.arange(work.encoded_from, len(work))
    person = np.asarray(persons, dtype=np.str_)[rows]
    source = work.sources[rows]
    seen = np.where(rows >= work.remembered, quarter, work.old_quarters[rows])
    # newest first within each (person, source), later rows winning ties
    order = np.lexsort((-rows, _descending(seen), source, person))
    keep = _first_n(person[order], source[order], settings.keep_per_source)
    order = order[keep]
    keep = _first_n(person[order], None, settings.keep_per_person)
    chosen = np.sort(order[keep])
    retired = dict(index.retired)
    retired.update(merged)
    return PersonIndex(
        index.namespace,
        work.table.take(chosen, source=""),
        source[chosen],
        person[chosen],
        seen[chosen],
        retired,
        (*index.resolved, quarter),
    )


def _descending(values: Strings) -> NDArray[np.intp]:
    """Sort keys that put larger strings first."""
    _, rank = np.unique(values, return_inverse=True)
    descending: NDArray[np.intp] = -rank.astype(np.intp)
    return descending


def _first_n(person: Strings, source: Strings | None, n: int) -> NDArray[np.bool_]:
    """Mask of the first ``n`` rows of each (person[, source]) run in sorted order."""
    group = person if source is None else np.char.add(np.char.add(person, "\x1f"), source)
    if len(group) == 0:
        return np.zeros(0, dtype=np.bool_)
    starts = np.r_[True, group[1:] != group[:-1]]
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    position = np.arange(len(group)) - first[run]
    keep: NDArray[np.bool_] = position < n
    return keep


def _blob(values: Strings) -> NDArray[np.uint8]:
    data = "\x00".join(values.tolist()).encode()
    return np.frombuffer(len(values).to_bytes(8, "little") + data, dtype=np.uint8)


def _unblob(array: NDArray[np.uint8]) -> Strings:
    raw = array.tobytes()
    count = int.from_bytes(raw[:8], "little")
    if count == 0:
        return np.zeros(0, dtype=np.str_)
    return np.asarray(raw[8:].decode().split("\x00"), dtype=np.str_)
