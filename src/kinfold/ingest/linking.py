"""The hub's choices around linkage, on encodings only. Plain Python (no Django), so the benchmark
and tests can run them without a database.

- Which persons named on rows (a parent or carer) are identified well enough to link: a name
  and at least one more thing — a date of birth, an address, a postcode or a reference number.
  A name alone would join any same-named resident; such a carer is reported, not linked.
- Which records cannot be one person: a row's own record and the parent or carer it names (so
  a mother and a daughter of the same name, met at the same address, are never merged); two
  parents or carers named with exactly the same name at different addresses (namesakes, who
  would otherwise be merged through any record that has the name and no address); and a parent
  or carer named with an address and a partner's own record of exactly that name in another
  household.
- Which records of this quarter and the person index's remembered ones share too little to be
  linked: exactly the same name, where namesakes are known, and nothing else both carry.
- Which of those kept apart are one person after all, if linkage ties both to them: a contact
  named again, and their own record at a home they have just left.
- Which records are too thin to link: a partner's own record with nothing but a name, where
  namesakes are known (the name comes with two or more dates of birth or addresses, this quarter
  or in the person index).
- Which known persons are not merged whatever this quarter's records suggest: two persons placed
  in different households in the same quarter.
- Who cannot be a person named as a child's parent or carer: anyone born less than
  ``PARENT_YEARS`` before the child; who cannot have a record: anyone born after the latest year
  its indicators allow (``ages.latest_year_of_birth``); and who cannot be one person at all:
  records whose years of birth are more than ``YEARS_APART`` apart (the checks on years of birth,
  not encodings).
- Which parents or carers named on rows are the ones named in the same place on the same row
  before: those named by exactly the same name.
- Which household each person lives in this quarter, when their records disagree; that a
  person whose records put them back in a household they have left, or in the one the people
  they live with came from, stays where they moved to; which children still placed where their
  household used to live go with it; and which adults placed where a family has moved in
  together since had left before it came.
- Which parents or carers named on rows are not linked to the child after all: those the row
  places in the child's own home while the person they were linked to lives elsewhere.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Final

import numpy as np
from numpy.typing import NDArray

from kinfold.ingest.partner import RELATED_SOURCE
from kinfold.linkage import Births, EncodedTable
from kinfold.linkage.fields import REFERENCE_FIELDS

#: The encoded table's keyed address token (linkage's name for it).
HOUSEHOLD_TOKEN: Final = "household"  # noqa: S105 - a column name, not a password

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


def kept_apart(
    tables: Sequence[EncodedTable], homes: Mapping[RecordKey, str] | None = None
) -> list[tuple[RecordKey, RecordKey]]:
    """Every pair the hub knows, or judges, cannot be one person (the rules below;
    :func:`contacts_apart` only when the records' households, ``homes``, are given)."""
    pairs = named_apart(tables) + namesakes_apart(tables) + ambiguous_names_apart(tables)
    return pairs + contacts_apart(tables, homes) if homes is not None else pairs


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


#: Namesakes compared pairwise for :func:`namesakes_apart` only in groups up to this size.
MAX_NAMESAKES: Final = 60


def namesakes_apart(tables: Sequence[EncodedTable]) -> list[tuple[RecordKey, RecordKey]]:
    """Pairs that cannot be one person: two parents or carers named on rows with exactly the same
    name but different addresses this quarter (two schools' contacts called Maryam Khatun, at two
    addresses, are two women). Compared on encodings: identical name filters, different household
    tokens. Without this, a third record with the name and no address links to both and merges
    them — and the children of one are then linked to the other."""
    pairs: list[tuple[RecordKey, RecordKey]] = []
    groups: dict[bytes, list[tuple[RecordKey, int]]] = defaultdict(list)
    for table in tables:
        if not table.source.endswith(RELATED_SOURCE) or not len(table):
            continue
        given, surname = table.filters["given_name"], table.filters["surname"]
        token = table.tokens[HOUSEHOLD_TOKEN]
        ids = table.record_ids.tolist()
        for row in np.flatnonzero(token != 0).tolist():
            name = given[row].tobytes() + surname[row].tobytes()
            groups[name].append(((table.source, ids[row]), int(token[row])))
    for members in groups.values():
        if len(members) < 2 or len(members) > MAX_NAMESAKES:
            continue
        for i, (left, left_home) in enumerate(members):
            for right, right_home in members[i + 1 :]:
                if left_home != right_home:
                    pairs.append((left, right))
    return pairs


def ambiguous_names_apart(tables: Sequence[EncodedTable]) -> list[tuple[RecordKey, RecordKey]]:
    """Pairs that a shared name alone must not join: where records with exactly the same name carry
    two or more dates of birth or addresses (namesakes may live in the borough), two of them that
    have nothing else to compare — no date of birth on both, no address on both, no reference
    number of one kind on both — are kept apart. A contact named with an address, and a carer named with a date of birth,
    are then not taken for one woman because they share a common name; a name that belongs to one
    person in the borough still joins whatever records carry it."""
    rows: dict[bytes, list[tuple[RecordKey, bytes, int, int]]] = defaultdict(list)  # name → rows
    for table in tables:
        if not len(table):
            continue
        evidence = _evidence(table)
        dob = table.filters["dob"]
        has_dob = table.popcount("dob") > 0
        home = table.tokens[HOUSEHOLD_TOKEN]
        name = np.concatenate([table.filters["given_name"], table.filters["surname"]], axis=1)
        named = np.flatnonzero((table.popcount("given_name") > 0) & (table.popcount("surname") > 0))
        ids = table.record_ids.tolist()
        for row in named.tolist():
            birth = dob[row].tobytes() if has_dob[row] else b""
            rows[name[row].tobytes()].append(
                ((table.source, ids[row]), birth, int(evidence[row]), int(home[row]))
            )
    pairs: list[tuple[RecordKey, RecordKey]] = []
    for members in rows.values():
        if len(members) < 2 or len(members) > MAX_NAMESAKES:
            continue
        births = {birth for _, birth, _, _ in members if birth}
        homes = {h for _, _, _, h in members if h}
        if len(births) < 2 and len(homes) < 2:
            continue  # one person's name, as far as dates of birth and addresses show
        for i, (left, _, left_has, _) in enumerate(members):
            for right, _, right_has, _ in members[i + 1 :]:
                if not left_has & right_has:
                    pairs.append((left, right))
    return pairs


def too_thin_to_link(
    tables: Sequence[EncodedTable],
    remembered: EncodedTable | None = None,
    sources: Sequence[str] = (),
) -> list[RecordKey]:
    """A partner's own records that carry a name and nothing else to compare — no date of birth,
    address or reference number — where records of exactly that name, this quarter or remembered
    by the person index (``remembered``, whose rows come from ``sources``), carry two or more
    dates of birth or addresses. Whose such a record is cannot be told: linked on the name, a
    woman's support case joined her namesake of 17, whose family it made eligible (on a
    60,000-resident synthetic borough). Left unlinked, each is a person of its own, as
    :func:`ambiguous_names_apart` keeps such records apart within a quarter. Remembered such
    records are named too: left to link in a later quarter, a support case kept apart so became
    the person a school's contact of that name joined next quarter, and the case went into the
    contact's family."""
    thin: dict[bytes, list[RecordKey]] = defaultdict(list)
    for table, origins in [
        *((t, [t.source] * len(t)) for t in tables),
        *([(remembered, list(sources))] if remembered is not None and sources else []),
    ]:
        if not len(table):
            continue
        names = _names(table)
        ids = table.record_ids.tolist()
        for row in np.flatnonzero(_named(table) & (_evidence(table) == 0)).tolist():
            if not origins[row].endswith(RELATED_SOURCE):
                thin[names[row].tobytes()].append((origins[row], ids[row]))
    if not thin:
        return []
    births: dict[bytes, set[bytes]] = defaultdict(set)
    homes: dict[bytes, set[int]] = defaultdict(set)
    for table in [*tables, *([remembered] if remembered is not None else [])]:
        if len(table):
            _namesakes_of(table, thin, births, homes)
    return sorted(
        key
        for name, keys in thin.items()
        if len(births[name]) >= 2 or len(homes[name]) >= 2
        for key in keys
    )


def names_alone_with_past(
    tables: Sequence[EncodedTable], remembered: EncodedTable | None, sources: Sequence[str]
) -> list[tuple[RecordKey, RecordKey]]:
    """Pairs (a record this quarter, a record the person index remembers: ``remembered``, whose
    rows come from ``sources``) that would link on a shared name alone, where the name is not one
    person's: exactly the same name, nothing else both carry — no date of birth on both, no
    address on both, no reference number of one kind on both — and the name comes with two or
    more dates of birth (this quarter or remembered) or two or more addresses this quarter.
    :func:`ambiguous_names_apart` across quarters: a school's contact called Chiamaka Okafor (a
    name 40 residents of a 60,000-resident synthetic borough share) linked on the name to a
    namesake's remembered police record with a date of birth and no address, and the namesake's
    anti-social behaviour made the contact's family eligible. The link is dropped, not the pair kept apart: the
    record may still join that person on what it does share with their other records."""
    if remembered is None or not len(remembered):
        return []
    wanted: dict[bytes, list[tuple[RecordKey, int, bytes, int]]] = defaultdict(list)
    for table in tables:
        if len(table):
            _add_named(table, [table.source] * len(table), wanted)
    if not wanted:
        return []
    past: dict[bytes, list[tuple[RecordKey, int, bytes, int]]] = defaultdict(list)
    _add_named(remembered, list(sources), past, wanted)
    pairs: list[tuple[RecordKey, RecordKey]] = []
    for name, before in past.items():
        now = wanted[name]
        births = {b for _, _, b, _ in [*now, *before] if b}
        homes = {h for _, _, _, h in now if h}
        if len(births) < 2 and len(homes) < 2:
            continue
        pairs.extend(
            (new, old)
            for new, new_has, _, _ in now
            for old, old_has, _, _ in before
            if not new_has & old_has
        )
    return sorted(pairs)


def _add_named(
    table: EncodedTable,
    origins: Sequence[str],
    found: dict[bytes, list[tuple[RecordKey, int, bytes, int]]],
    only: Mapping[bytes, object] | None = None,
) -> None:
    """Add ``table``'s records with a given name and a surname to ``found`` by name: their key,
    evidence bits (:func:`_evidence`), date of birth filter (or b"") and household token; with
    ``only``, just those named as in it."""
    names = _names(table)
    rows = np.flatnonzero(_named(table))
    if only is not None:
        rows = _maybe_named(names, rows, only, table)
    evidence = _evidence(table)
    has_dob = table.popcount("dob") > 0
    dob, home = table.filters["dob"], table.tokens[HOUSEHOLD_TOKEN]
    ids = table.record_ids.tolist()
    for row in rows.tolist():
        name = names[row].tobytes()
        if only is not None and name not in only:
            continue
        birth = dob[row].tobytes() if has_dob[row] else b""
        found[name].append(((origins[row], ids[row]), int(evidence[row]), birth, int(home[row])))


def named_again(
    tables: Sequence[EncodedTable], remembered: EncodedTable | None, sources: Sequence[str]
) -> list[tuple[RecordKey, RecordKey]]:
    """Pairs (a parent or carer named on a row this quarter, the one named on the same row and in
    the same place on it in an earlier quarter, as the person index remembers it: ``remembered``,
    whose rows come from ``sources``) with exactly the same name: one person. Known to a partner
    only as a child's contact, a mother is a name and an address; when the family moves, the
    new address leaves nothing to link her by, and each move made her a new person — the
    family's only adult, so the family lost its past (7.5% of persons known only as a contact were
    split on a 60,000-resident synthetic borough over eight quarters, against 0.3% of persons
    with records of their own). A different name in that place (the school now names the father)
    is left to linkage."""
    if remembered is None or not len(remembered):
        return []
    wanted: dict[tuple[str, str], list[tuple[bytes, RecordKey]]] = defaultdict(list)
    for table in tables:
        if not table.source.endswith(RELATED_SOURCE) or not len(table):
            continue
        names = _names(table)
        for row, key in enumerate(table.record_ids.tolist()):
            place = key.split("/", 1)[1]  # <quarter>/<record id>/<n> → <record id>/<n>
            wanted[table.source, place].append((names[row].tobytes(), (table.source, key)))
    if not wanted:
        return []
    latest: dict[RecordKey, tuple[str, RecordKey]] = {}
    names = _names(remembered)
    for row, (source, key) in enumerate(zip(sources, remembered.record_ids.tolist(), strict=True)):
        if not source.endswith(RELATED_SOURCE):
            continue
        when, _, place = key.partition("/")
        for name, new in wanted.get((source, place), ()):
            if name == names[row].tobytes() and when > latest.get(new, ("", new))[0]:
                latest[new] = (when, (source, key))
    return sorted((new, old) for new, (_, old) in latest.items())


def _names(table: EncodedTable) -> NDArray[np.uint64]:
    found: NDArray[np.uint64] = np.ascontiguousarray(
        np.concatenate([table.filters["given_name"], table.filters["surname"]], axis=1)
    )
    return found


def _named(table: EncodedTable) -> NDArray[np.bool_]:
    found: NDArray[np.bool_] = (table.popcount("given_name") > 0) & (table.popcount("surname") > 0)
    return found


def _namesakes_of(
    table: EncodedTable,
    wanted: Mapping[bytes, object],
    births: dict[bytes, set[bytes]],
    homes: dict[bytes, set[int]],
) -> None:
    """Add the dates of birth and household tokens of ``table``'s records named as in ``wanted``
    (compared on the first word of each name filter first, so a large index is scanned quickly)."""
    names = _names(table)
    candidates = _maybe_named(names, np.arange(len(table)), wanted, table)
    has_dob = table.popcount("dob") > 0
    dob, home = table.filters["dob"], table.tokens[HOUSEHOLD_TOKEN]
    for row in candidates.tolist():
        name = names[row].tobytes()
        if name not in wanted:
            continue
        if has_dob[row]:
            births[name].add(dob[row].tobytes())
        if home[row]:
            homes[name].add(int(home[row]))


def _maybe_named(
    names: NDArray[np.uint64],
    rows: NDArray[np.intp],
    wanted: Mapping[bytes, object],
    table: EncodedTable,
) -> NDArray[np.intp]:
    """Of ``rows``, those whose name filters (``names``) may be one of ``wanted``: the first word
    of each name filter compared, so a large index is scanned quickly; the caller compares the
    whole name."""
    words = table.filters["given_name"].shape[1]
    firsts = {np.frombuffer(n, dtype=np.uint64)[[0, words]].tobytes() for n in wanted}
    key = np.ascontiguousarray(names[rows][:, [0, words]]).view(np.dtype((np.void, 16))).ravel()
    found: NDArray[np.intp] = rows[np.isin(key, np.asarray(sorted(firsts), dtype=key.dtype))]
    return found


def _evidence(table: EncodedTable) -> NDArray[np.int64]:
    """Per row, a bit for each kind of evidence besides the name it carries: date of birth,
    address, and each kind of reference number."""
    bits = np.zeros(len(table), dtype=np.int64)
    bits |= (table.popcount("dob") > 0).astype(np.int64)
    bits |= (table.tokens[HOUSEHOLD_TOKEN] != 0).astype(np.int64) << 1
    for shift, token in enumerate(REFERENCE_FIELDS, start=2):
        if token in table.tokens:
            values = table.tokens[token]
            present = (values != 0) if values.ndim == 1 else (values != 0).any(axis=1)
            bits |= present.astype(np.int64) << shift
    return bits


def placed_apart(
    groups: Sequence[Sequence[str]], homes: Mapping[str, Mapping[str, int]]
) -> list[tuple[str, str]]:
    """Pairs, within each group of known persons linkage would merge, that were placed in two
    different households in the same quarter (``homes``: person → quarter → household). Such a
    pair was two people in that quarter's own evidence, each with an address: a record that now
    looks like both — a contact named by name and address, a record with no address, a changed
    surname — does not make them one. Most such merges join a child's mother with a namesake who
    lives elsewhere (on a 60,000-resident synthetic borough, 34 of one quarter's 38 wrong merges
    of known persons, against 3 of its 14 right ones), and the namesake then became the
    children's parent living elsewhere, with her own flags, in every quarter before the merge."""
    pairs: list[tuple[str, str]] = []
    for group in groups:
        for i, left in enumerate(group):
            mine = homes.get(left, {})
            for right in group[i + 1 :]:
                theirs = homes.get(right, {})
                if any(theirs.get(q, h) != h for q, h in mine.items()):
                    pairs.append((left, right))
    return pairs


#: A parent or carer named on a child's row was born at least this many years before the child.
PARENT_YEARS: Final = 12
#: Records whose years of birth are further apart than this are not one person's.
YEARS_APART: Final = 10


def parents_born(
    own: Mapping[RecordKey, int],
    named: Mapping[RecordKey, tuple[int | None, int | None]],
    own_latest: Mapping[RecordKey, int],
    known: Mapping[str, int],
    children: Mapping[str, int],
) -> Births:
    """What linkage may check years of birth against (:class:`kinfold.linkage.Births`): nobody
    joins a person named as a parent or carer of a child born fewer than ``PARENT_YEARS`` after
    them. ``own``: the year each of this quarter's records gives; ``named``: for each parent or
    carer named on a row, the year the row gives them (a children's services row may) and the
    year of birth of the child who names them as a parent, each None if not known;
    ``own_latest``: the latest year of birth each of this quarter's records allows by what it
    records (``ages.latest_year_of_birth``: an offence's suspect is 10 or over), checked unless
    the record's own year is later; ``known``:
    kinfold's persons' years of birth; ``children``: the year of birth of each known person's
    youngest child named with them as a parent.

    A school names a mother "Olivia Smith" at the family's address, and her daughter, born
    later, is Olivia Smith at that address too: on the encodings, name and address agree, and
    a contact has no date of birth to disagree with. Linked, the mother became her own
    daughter: 193 of the 194 parent links on a 60,000-resident synthetic borough whose parent
    was less than 12 years older than the child were such a wrong link (docs/ingest.md) — and a
    baby taken for a pupil's mother moved the pupil, through ``left_behind``, to the baby's
    home. Where the years contradict each other (a row's parent born after the child; a known
    person's own year after their youngest child's), nothing is checked for them.

    Nor does anyone join a person whose years of birth are more than ``YEARS_APART`` from
    theirs. The encodings' comparison of dates of birth forgives a typing error, and so lets
    through two different years when all else agrees: a children's services row names a mother
    Isla Evans, born 20 November 1979, and linkage joined her to a jobcentre claim of an Isla
    Evans born 11 November 1963, whose flags then counted for the children. A real person whose
    year of birth one partner mistyped by more than ten years stays two persons: the safer
    failure, as a stranger's flags are not added to a family."""
    years = dict(own)
    latest = {
        record: year
        for record, year in own_latest.items()
        if record not in own or own[record] <= year
    }
    for record, (year, child) in named.items():
        if year is not None:
            years[record] = year
        if child is not None and (year is None or year <= child - PARENT_YEARS):
            latest[record] = child - PARENT_YEARS
    known_latest = {
        person: youngest - PARENT_YEARS
        for person, youngest in children.items()
        if known.get(person, 0) <= youngest - PARENT_YEARS
    }
    return Births(years, latest, dict(known), known_latest, YEARS_APART)


def choose_households(
    persons: Mapping[RecordKey, str],
    of_record: Mapping[RecordKey, str],
    latest: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each person's household this quarter: the one most of their records give; then the one
    their own records give (rather than an address someone else gave for them, as a school gives
    a contact's); then one other than where they lived most recently (``latest``: person →
    household), as a record at a new address and one at the old are more often a move and a
    partner not yet told of it than a stranger's record (measured: it places persons slightly
    better than the other way round); then the one fewer other persons have records at this
    quarter; then the smaller id, so the choice is deterministic.
    (Letting a person's own records always decide was measured too: slightly worse both ways, as
    partners' own addresses go stale more often than a school's contact address.)

    Fewer others: someone kinfold has not placed before, with one record at an address a family
    gives this quarter and one at an address nobody else does, has most often left the family's
    address — which the family moved into — and the partner has not caught up. Placed there by
    the smaller id, a man living alone joined the family with his flags (a quarter of the false
    positives on a 250,000-resident synthetic borough were adults living in no family placed in
    a family's household)."""
    latest = latest or {}
    total: dict[str, Counter[str]] = defaultdict(Counter)
    own: dict[str, Counter[str]] = defaultdict(Counter)
    there: dict[str, set[str]] = defaultdict(set)
    for record, household in of_record.items():
        person = persons.get(record)
        if person is None:
            continue
        total[person][household] += 1
        there[household].add(person)
        if not record[0].endswith(RELATED_SOURCE):
            own[person][household] += 1
    return {
        person: min(
            counted,
            key=lambda h: (
                -counted[h],
                -own[person][h],
                h == latest.get(person),
                len(there[h]),
                h,
            ),
        )
        for person, counted in total.items()
    }


def _placed_together(
    history: Mapping[str, Sequence[tuple[str, str]]],
) -> dict[tuple[str, str], list[str]]:
    """Who was placed in each household in each quarter: (quarter, household) → persons, from
    ``history`` (person → (quarter, household), in order)."""
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for person, homes in history.items():
        for placed in homes:
            members[placed].append(person)
    return members


def stay_after_moving(
    chosen: Mapping[str, str], history: Mapping[str, Sequence[tuple[str, str]]]
) -> dict[str, str]:
    """Each person's household this quarter (``chosen``, as :func:`choose_households` gives it),
    except that a person whose records put them back in a household they have left stays in the
    household they were in most recently (``history``: person → (quarter, household) in earlier
    quarters, in order). A partner that has not caught up with a move still writes the old
    address: on a 60,000-resident synthetic borough over eight quarters, 1,856 of 1,869 such
    returns were a stale address, two were a family truly moving back (docs/programme.md). Taken
    at its word, a stale address moved the person back alone: their family split in two, a second
    family appeared at the old address, or a child's flags left the family they live in.

    The same holds for a household the people they lived with came from: those still in the
    household the person was last placed in, who lived before in the household the person's
    records now give. kinfold may first meet someone just after a move, at the new address; a
    partner that has not caught up then gives the home the family left, where kinfold never
    placed them. On a 60,000-resident synthetic borough over 20 quarters, 32 of the 34 such
    persons whose place is known truly lived with the people they had been placed with; taken
    at her word, a mother whose two records gave the family's old flat joined the family that
    had moved into it, with her flags."""
    members = _placed_together(history)
    kept = dict(chosen)
    for person, household in chosen.items():
        past = history.get(person)
        if not past or household == past[-1][1]:
            continue
        latest = past[-1][1]
        if any(h == household for _, h in past) or any(
            chosen.get(mate) == latest and any(h == household for _, h in history[mate])
            for mate in members[past[-1]]
            if mate != person
        ):
            kept[person] = latest
    return kept


def left_behind(
    chosen: Mapping[str, str],
    history: Mapping[str, Sequence[tuple[str, str]]],
    children: Set[str],
    placed_by_own: Set[str],
) -> dict[str, str]:
    """Children (of ``children``) still placed (``chosen``) in the household they were in most
    recently while the adults they lived with there (or, with no adult known, everyone else)
    have all moved on together to one other household this quarter: child → that household.
    A child's records that still give the old address are stale: on a 60,000-resident synthetic
    borough over eight quarters, when every adult a child under 16 lived with moved to one new
    home, the child went with them 2,320 times, went elsewhere 3 times and stayed 0 times; aged 16
    to 19, they went with them all 328 times (an adult, by contrast, stays behind about one time
    in 25: a separation). Brothers and sisters whose school has not caught up either do not hold
    a child back.

    A parent known only as a school's contact "moves" when the school writes her address apart
    from the child's on the child's own row, which says she lives elsewhere now (a separation), not
    that the child's address is stale. So the adults lead only if one of them is placed by their
    own records this quarter (``placed_by_own``); otherwise everyone else the child lived with
    does, and someone among those who moved must be placed by their own records. A contact who
    stays where the child is still holds the child there, as any adult does: the father's own
    records alone moving on is a separation too."""
    members = _placed_together(history)
    moved: dict[str, str] = {}
    for person, household in chosen.items():
        past = history.get(person)
        if person not in children or not past or past[-1][1] != household:
            continue
        others = [o for o in members[past[-1]] if o != person and o in chosen]
        adults = [o for o in others if o not in children]
        lead = adults if any(o in placed_by_own for o in adults) else others
        now = {chosen[o] for o in lead}
        if len(now) == 1 and household not in now and any(o in placed_by_own for o in lead):
            moved[person] = now.pop()
    return moved


def left_before_a_family_moved_in(
    chosen: Mapping[str, str],
    history: Mapping[str, Sequence[tuple[str, str]]],
    children: Set[str],
) -> set[str]:
    """Adults placed (``chosen``) in a household a family moved into — a child (of ``children``)
    and an adult who arrived there in the same quarter from one other household, where they
    lived together (``history``: person → (quarter, household), in order) — who lived there
    before the family came and have not been placed there with them since: they are not placed
    this quarter. A family moves into an empty home; the flat-sharers whose jobcentre claims
    still give the flat have left it, and placed there they made the family they never met
    eligible with their flags."""
    placed: dict[str, list[str]] = defaultdict(list)  # household → persons chosen there
    for person, household in chosen.items():
        placed[household].append(person)
    now = "~"  # after every quarter label
    gone: set[str] = set()
    for household, persons in placed.items():
        if len(persons) < 3:
            continue
        arrived: dict[tuple[str, str], list[str]] = defaultdict(list)
        for person in persons:
            homes = [*history.get(person, ()), (now, household)]
            j = len(homes) - 1
            while j > 0 and homes[j - 1][1] == household:
                j -= 1
            if j > 0:
                arrived[homes[j][0], homes[j - 1][1]].append(person)
        families = [
            (when, group)
            for (when, _), group in arrived.items()
            if any(p in children for p in group) and any(p not in children for p in group)
        ]
        if not families:
            continue
        when, family = max(families)
        for person in persons:
            if person in family or person in children:
                continue
            there = [q for q, h in history.get(person, ()) if h == household]
            if there and max(there) < when:
                gone.add(person)
    return gone


def lives_elsewhere_than_named(
    *, named_at: str | None, child_home: str | None, parent_home: str | None
) -> bool:
    """Whether a parent or carer named on a child's row must not be linked to the child: the row
    gives them the child's own address (``named_at`` is the child's household), yet the person the
    name was linked to lives in another household this quarter. A partner who names a parent at
    the child's address says they live together; a person placed elsewhere is then, most often,
    someone else whom linkage took for the parent — a namesake, usually (58 of 67 such links over
    eight quarters of a 20,000-resident synthetic borough; docs/programme.md) — and linking them
    would add a stranger to the family as a parent living elsewhere, with the stranger's flags."""
    return bool(named_at) and named_at == child_home and parent_home != named_at


def contacts_apart(
    tables: Sequence[EncodedTable], homes: Mapping[RecordKey, str]
) -> list[tuple[RecordKey, RecordKey]]:
    """Pairs that cannot be one person: a parent or carer named on a row with an address, and a
    partner's own record with exactly the same name in another household this quarter (``homes``:
    record → household, as :func:`kinfold.linkage.households` groups them, so that one address
    written two ways is one household). A school names a child's mother with her current address;
    a woman of the same name whose own records put her elsewhere is nearly always a namesake (on a
    20,000-resident synthetic borough over eight quarters, 12,212 of the 12,247 pairs this keeps
    apart are two people) — and once merged with her, the mother's children gain a parent living
    elsewhere with the namesake's flags (docs/programme.md, *Accuracy*). The price is the other
    35: a contact and her own record at an address she has just left, kept apart that quarter.

    An own record with the names the wrong way round counts as the same name (both name fields
    share a filter key): a housing case for "Jankowska Zuzanna" at her flat was linked to the
    school's contact Zuzanna Jankowska, a namesake, who then "moved" there and drew her daughter
    with her into a stranger's household."""
    named: dict[bytes, list[tuple[RecordKey, str]]] = defaultdict(list)
    own: dict[bytes, list[tuple[RecordKey, str]]] = defaultdict(list)
    for table in tables:
        if not len(table):
            continue
        given, surname = table.filters["given_name"], table.filters["surname"]
        name = np.concatenate([given, surname], axis=1)
        related = table.source.endswith(RELATED_SOURCE)
        swapped = None if related else np.concatenate([surname, given], axis=1)
        ids = table.record_ids.tolist()
        found = named if related else own
        for row, record_id in enumerate(ids):
            home = homes.get((table.source, record_id))
            if home:
                found[name[row].tobytes()].append(((table.source, record_id), home))
                if swapped is not None and not np.array_equal(given[row], surname[row]):
                    own[swapped[row].tobytes()].append(((table.source, record_id), home))
    pairs: list[tuple[RecordKey, RecordKey]] = []
    for key, contacts in named.items():
        others = own.get(key, [])
        if len(others) > MAX_NAMESAKES:
            continue
        pairs.extend(
            (contact, other)
            for contact, contact_home in contacts
            for other, other_home in others
            if other_home != contact_home
        )
    return pairs


def moved_from(
    pairs: Sequence[tuple[RecordKey, RecordKey]],
    continues: Sequence[tuple[RecordKey, RecordKey]],
    homes: Mapping[RecordKey, str],
    before: Mapping[RecordKey, tuple[str, str]],
    history: Mapping[str, Sequence[tuple[str, str]]],
) -> list[tuple[RecordKey, RecordKey]]:
    """Of :func:`contacts_apart`'s ``pairs`` (a contact, an own record in another household this
    quarter; ``homes``: record → household), those that look like a move: the contact is named
    again (``continues``: this quarter's contact, a remembered one) as a person who lived where
    that remembered contact was named (``before``: remembered record → (person, household)) when
    last placed, and the own record is at a household that person lived in within the year
    (``history``: person → (quarter, household), in order). The school has the new address, the
    police record the old — one man, not a namesake. A contact named where the person never
    lived (a namesake taken for them once, say) is not one of these."""
    named_as: dict[RecordKey, str] = {}
    for new, old in continues:
        person, household = before.get(old, ("", ""))
        lived = history.get(person, ())
        if lived and lived[-1][1] == household:
            named_as[new] = person
    return [
        (contact, other)
        for contact, other in pairs
        if contact in named_as
        and any(homes.get(other) == household for _, household in history[named_as[contact]])
    ]


def carry_household_ids(
    tokens: Mapping[str, Set[int]],
    before: Mapping[int, str],
    taken: Set[str],
    fresh: Callable[[str, int], str],
    nearby: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each household found this quarter (``tokens``: its id as linkage named it → the keyed
    household tokens of its records) → the id it keeps: the id most of its tokens were last found
    in (``before``: token → household id), one household to an id, most tokens first; else, for
    a household none of whose tokens was found before, the id of the one remembered address
    written close to its own (``nearby``: household → that id), if no household kept it; else its
    own id — unless that is taken this quarter or belongs to another address (``taken``: ids some
    token was ever found in), when ``fresh(id, n)`` names it, for n = 1, 2, … until one is free.

    Linkage names a household by the smallest of its tokens, which changes with the ways partners
    happened to write the address that quarter (a housing case with its UPRN, a police record's
    abbreviations): the address's id changed with what partners sent, and the rules that read a
    person's past homes by id saw moves that were not."""
    votes: list[tuple[int, str, str]] = []
    for name, found in tokens.items():
        counted = Counter(before[t] for t in found if t in before)
        votes.extend((-n, old, name) for old, n in counted.items())
    kept: dict[str, str] = {}
    used: set[str] = set()
    for _, old, name in sorted(votes):
        if name not in kept and old not in used:
            kept[name] = old
            used.add(old)
    for name, old in sorted((nearby or {}).items()):
        if name in tokens and name not in kept and old not in used:
            kept[name] = old
            used.add(old)
    for name in sorted(tokens):
        if name in kept:
            continue
        candidate, n = name, 0
        while candidate in used or candidate in taken:
            n += 1
            candidate = fresh(name, n)
        kept[name] = candidate
        used.add(candidate)
    return kept
