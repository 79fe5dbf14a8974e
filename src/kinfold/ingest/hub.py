"""The hub's side: a quarter's bundles → persons, records, flags, sealed details, households.

The hub never holds the partners' linkage secret: it links on encodings only, but for one check
on the years of birth it keeps for ages anyway (a parent is older than the child). It opens each
bundle's sealed content with its own transport key (derived from the vault master key), checks it
against the agreement again (a flag in a category this partner may not provide for identification,
or detail in a category it may not share, is dropped and counted, whatever the partner sent), and
writes the quarter in **one transaction**:

1. persons: ``linkage.resolve_persons`` over every bundle's encodings (records and the parents or
   carers rows name) and the previous quarter's person index, so person ids stay put (two known
   persons placed in different households in the same quarter are not merged; a parent named
   again on the same child's row by exactly the same name is the one named there before; nobody
   joins a person named as a child's parent who was born less than 12 years before the child, nor
   a person born too late to have what a record records, like a police offence); new
   persons are created with their own data keys; persons that new evidence merges are moved onto the
   survivor (records, flags and sealed details re-sealed under the survivor's key);
2. households: ``linkage.households`` groups records by keyed address tokens, each group under the
   id its tokens were found in before (``HouseholdAddress``); each person lives,
   this quarter, in the household most of their records put them in — unless those records put
   them back in a household they left within the last year, or in the one the people they live
   with came from (a partner not yet told of a move); a child under 20 still placed where the
   adults they lived with lived goes with them; and an adult placed where a family has since
   moved in together, and not placed there with them, has left;
3. bundles, partner records, flags (indicators), sealed details, parent links, and the clear
   identities — sealed in the vault under each person's key, once per unchanged identity;
4. the new person index (``LinkageState``) and the audit entries.

Killing the process at any point leaves the database as it was. Ingesting the same files again
finds the quarter's bundles already there and writes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kinfold.agreements.models import DataCategory, Organisation, Share
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.errors import InputError
from kinfold.ingest import bundle, linking, merges
from kinfold.ingest.ages import latest_year_of_birth
from kinfold.ingest.models import (
    Bundle,
    Indicator,
    LinkageState,
    PartnerRecord,
    PersonMerge,
    SealedDetail,
)
from kinfold.ingest.partner import RELATED_SOURCE, Allowance
from kinfold.ingest.report import IngestReport, PartnerReport
from kinfold.ingest.sealing import detail_associated_data, seal_values
from kinfold.linkage import (
    Births,
    EncodedTable,
    Households,
    PersonIndex,
    Resolution,
    Settings,
    households,
    near_remembered,
    pseudonym,
    resolve_persons,
)
from kinfold.people import bulk
from kinfold.people.models import (
    Household,
    HouseholdAddress,
    HouseholdMember,
    ParentLink,
    Person,
)
from kinfold.quarters import Quarter

#: Relations on a row that make a ParentLink (the programme adds such a parent to the family).
PARENT_RELATIONS: Final = frozenset({"parent", "carer", "mother", "father", "guardian"})
#: Content rows handled per batch of inserts.
BATCH: Final = 2_000
#: Superseded quarters whose person index is kept whole (older ones keep only their sha256).
KEEP_INDEXES: Final = 2
#: How far back a person's homes are remembered when their records put them back in one they
#: left: partners catch up with a move within a year, nearly always.
RECENT_HOME_QUARTERS: Final = 4
#: Under this age a person placed where their household used to live goes with it (measured:
#: young people of 16 to 19 follow their household's adults as every younger child does).
CHILD_AGE: Final = 20
#: PostgreSQL advisory lock id for quarter ingests ("kfingest").
INGEST_LOCK_ID: Final = 0x6B66696E67657374
_TRANSPORT_INFO: Final = b"kinfold.ingest.transport-key.v1"
_NAMESPACE_INFO: Final = b"kinfold.ingest.person-namespace.v1"

#: Told what the ingest is doing: (stage, done, total or None).
Progress = Callable[[str, int, int | None], None]
RecordKey = tuple[str, str]
#: Person → (quarter, household id) in earlier quarters, in order.
HomesByPerson = dict[str, list[tuple[str, str]]]


# -- keys and agreements --------------------------------------------------------------------------


def transport_private_key() -> X25519PrivateKey:
    """The hub's bundle transport key, derived from the vault master key (nothing more to keep)."""
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_TRANSPORT_INFO).derive(
        settings.KEYS.vault_master_key
    )
    return X25519PrivateKey.from_private_bytes(seed)


def person_namespace() -> bytes:
    """The key person ids are made under (``linkage.PersonIndex``), derived from the vault master
    key like the transport key: as secret as it, nothing more to keep, and the same on every run
    of the same data — so the person ids, and the choices ordered by them, are repeatable."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_NAMESPACE_INFO).derive(
        settings.KEYS.vault_master_key
    )


def transport_public_key() -> bytes:
    """The public half partners seal bundles to (publish it; it is not a secret)."""
    return bundle.public_key_bytes(transport_private_key())


def allowance_for(organisation: Organisation) -> Allowance:
    """What approved agreements let ``organisation`` send: flag categories for identification, and
    detail categories (shared at the details level for some purpose)."""
    shares = Share.objects.filter(agreement__status="approved", provider=organisation).values_list(
        "agreement__slug", "agreement__version", "purpose__slug", "level", "category__slug"
    )
    flags: set[str] = set()
    details: set[str] = set()
    labels: set[str] = set()
    for slug, version, purpose, level, category in shares:
        labels.add(f"{slug}@v{version}")
        if level == "details":
            details.add(category)
        elif purpose == "identification":
            flags.add(category)
    return Allowance(organisation.slug, tuple(sorted(labels)), frozenset(flags), frozenset(details))


# -- opening bundles ------------------------------------------------------------------------------


@dataclass
class _Incoming:
    file: bundle.BundleFile
    organisation: Organisation
    allowance: Allowance
    report: PartnerReport


def _open(paths: Sequence[Path], quarter: str) -> list[_Incoming]:
    if not paths:
        raise InputError(f"there are no bundles to ingest for {quarter}")
    recipient = bundle.key_fingerprint(transport_public_key())
    found: list[_Incoming] = []
    seen: dict[str, Path] = {}
    for path in paths:
        file = bundle.BundleFile.open(path)
        manifest = file.manifest
        if file.quarter != quarter:
            raise InputError(f"is for {file.quarter}, not {quarter}", file=path, field="quarter")
        if file.partner in seen:
            raise InputError(
                f"is a second bundle from {file.partner} (the first is {seen[file.partner]})",
                file=path,
            )
        seen[file.partner] = path
        if manifest.get("transport", {}).get("recipient") != recipient:
            raise InputError("was sealed to another hub's transport key", file=path)
        organisation = Organisation.objects.filter(slug=manifest["organisation"]).first()
        if organisation is None:
            raise InputError(
                f"comes from an unknown organisation '{manifest['organisation']}'",
                file=path,
                field="organisation",
            )
        if organisation.partner_id and organisation.partner_id != file.partner:
            raise InputError(
                f"says partner '{file.partner}' but {organisation.slug} sends as "
                f"'{organisation.partner_id}'",
                file=path,
                field="partner",
            )
        allowance = allowance_for(organisation)
        if allowance.empty:
            raise InputError(f"no approved agreement lets {organisation.slug} send data", file=path)
        found.append(_Incoming(file, organisation, allowance, _partner_report(file)))
    return sorted(found, key=lambda i: i.file.partner)


def _partner_report(file: bundle.BundleFile) -> PartnerReport:
    manifest = file.manifest
    source = manifest["source"]
    dropped = manifest.get("dropped", {})
    return PartnerReport(
        partner=file.partner,
        organisation=str(manifest["organisation"]),
        file=str(source.get("file", "")),
        rows=int(source.get("rows", 0)),
        related=len(file.related),
        quarantined=list(manifest.get("quarantined", [])),
        dropped_indicators=dict(dropped.get("indicators", {})),
        dropped_detail=dict(dropped.get("detail", {})),
        ignored_columns=list(source.get("ignored_columns", [])),
    )


# -- the quarter ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Everything computed before the transaction: who is who, and who lives where."""

    quarter: str
    incoming: list[_Incoming]
    previous: LinkageState | None
    resolution: Resolution
    household_of: dict[str, str]  # person id → household id
    of_record: dict[RecordKey, str] = field(default_factory=dict)  # record → household id
    tokens: dict[str, set[int]] = field(default_factory=dict)  # household id → address tokens
    index_bytes: bytes = b""


def ingest_bundles(
    paths: Sequence[str | Path],
    *,
    quarter: str,
    actor: Actor,
    progress: Progress | None = None,
    linkage_settings: Settings | None = None,
) -> IngestReport:
    """Ingest one quarter's bundles in one transaction (see the module doc).

    Returns the report; ``already_ingested`` is set (and nothing written) when the quarter was
    ingested before from exactly these source files. InputError for a quarter already ingested
    from other files, a later quarter already ingested, or a bundle that is not right.
    """
    quarter = str(Quarter.parse(quarter))
    report = IngestReport(quarter, actor.run_id or actor.id)
    started = time.perf_counter()
    incoming = _open([Path(p) for p in paths], quarter)
    report.partners = [i.report for i in incoming]
    if _already(quarter, incoming):
        report.already_ingested = True
        return report
    _check_order(quarter)
    previous = _latest_state(quarter)
    report.seconds["open"] = time.perf_counter() - started
    plan = _plan(quarter, incoming, previous, linkage_settings, progress, report)
    report.seconds["link"] = time.perf_counter() - started - report.seconds["open"]
    writing = time.perf_counter()
    with transaction.atomic():
        _lock(quarter, previous)
        _Writer(plan, actor, report, progress).run()
    report.seconds["write"] = time.perf_counter() - writing
    return report


def _already(quarter: str, incoming: list[_Incoming]) -> bool:
    stored = set(Bundle.objects.filter(quarter=quarter).values_list("organisation__slug", "sha256"))
    if not stored:
        return False
    offered = {(i.organisation.slug, i.file.source_sha256) for i in incoming}
    if offered == stored:
        return True
    changed = sorted({slug for slug, _ in offered ^ stored})
    raise InputError(
        f"{quarter} was already ingested from other files (different for: {', '.join(changed)}); "
        "a quarter is ingested once, from all its files together",
        field="quarter",
    )


def _check_order(quarter: str) -> None:
    later = LinkageState.objects.filter(quarter__gt=quarter).order_by("quarter").first()
    if later is not None:
        raise InputError(
            f"{later.quarter} is already ingested: quarters are ingested in order, so that persons "
            f"keep their ids (cannot ingest {quarter} after it)",
            field="quarter",
        )


def _latest_state(quarter: str) -> LinkageState | None:
    return LinkageState.objects.filter(quarter__lt=quarter).order_by("-quarter").first()


def _lock(quarter: str, previous: LinkageState | None) -> None:
    """Serialise ingests, then make sure nobody ingested while we were linking."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK_ID])
    latest = _latest_state(quarter)
    if Bundle.objects.filter(quarter=quarter).exists() or (
        (latest.pk if latest else None) != (previous.pk if previous else None)
    ):
        raise InputError(f"another ingest of {quarter} ran at the same time; run it again")
    _check_order(quarter)


def _plan(
    quarter: str,
    incoming: list[_Incoming],
    previous: LinkageState | None,
    linkage_settings: Settings | None,
    progress: Progress | None,
    report: IngestReport,
) -> _Plan:
    if progress:
        progress("link", 0, None)
    index = _previous_index(previous)
    tables, thin = linking.tables_to_link(
        [i.file.records for i in incoming], [i.file.related for i in incoming]
    )
    # Households come from addresses alone, so they are known before persons are.
    remembered = _remembered(index, tables)
    found = _carried_over(
        households(tables, namespace=index.namespace), tables, remembered, index.namespace
    )
    sources = index.sources.tolist()  # of the remembered rows
    continues = linking.named_again(tables, remembered, sources)
    contacts = linking.contacts_apart(tables, found.of_record)
    recent = _recent_homes(quarter)
    moved = linking.moved_from(
        contacts, continues, found.of_record, _named_in(index, continues), recent.homes
    )
    resolution = resolve_persons(
        tables,
        index,
        quarter=quarter,
        settings=linkage_settings,
        births=_births(incoming),
        apart=linking.kept_apart(tables) + sorted(set(contacts) - set(moved)),
        persons_apart=_PlacedApart(),
        unlinked=linking.too_thin_to_link(tables, remembered, sources),
        continues=continues,
        apart_unless_known=moved,
        not_linked=linking.names_alone_with_past(tables, remembered, sources),
    )
    report.notes.extend(resolution.notes)
    if thin:
        report.notes.append(
            f"{thin:,} parents or carers named on rows by name alone were not linked (a name "
            "alone would join any namesake)"
        )
    report.linked = resolution.persons
    chosen = _households_of(resolution.persons, found.of_record, recent)
    plan = _Plan(
        quarter, incoming, previous, resolution, chosen, dict(found.of_record), found.tokens
    )
    plan.index_bytes = resolution.index.to_bytes()
    if progress:
        progress("link", len(resolution.persons), len(resolution.persons))
    return plan


def _year_of(identity: Mapping[str, str]) -> int | None:
    """The year of birth an identity gives (its date of birth is ISO), if any."""
    dob = identity.get("dob") or ""
    return int(dob[:4]) if len(dob) >= 4 and dob[:4].isdigit() else None


def _month_of(identity: Mapping[str, str]) -> int | None:
    """The month of birth an identity gives (1-12), if any."""
    dob = identity.get("dob") or ""
    month = dob[5:7]
    return int(month) if len(dob) >= 7 and month.isdigit() and 1 <= int(month) <= 12 else None


def _signed(token: int) -> int:
    """An unsigned 64-bit token as the signed value a BigIntegerField holds."""
    return token - (1 << 64) if token >= 1 << 63 else token


def _unsigned(stored: int) -> int:
    """The token a BigIntegerField's signed value holds (the inverse of ``_signed``)."""
    return stored % (1 << 64)


def _carried_over(
    found: Households,
    tables: Sequence[EncodedTable],
    remembered: EncodedTable | None,
    namespace: bytes,
) -> Households:
    """``found`` with each household under the id its address tokens had before
    (``linking.carry_household_ids``, from ``HouseholdAddress``); a household none of whose
    tokens was seen before takes the id of the one remembered address written close to its own
    (``linkage.near_remembered`` on the ``remembered`` encodings)."""
    before = _token_households({t for found_tokens in found.tokens.values() for t in found_tokens})
    nearby: dict[str, str] = {}
    if remembered is not None:
        unknown = {
            hid for hid, found_tokens in found.tokens.items() if not found_tokens & before.keys()
        }
        records = [record for record, hid in found.of_record.items() if hid in unknown]
        near = near_remembered(tables, records, remembered)
        before.update(_token_households({t for values in near.values() for t in values}))
        ids: dict[str, set[str]] = defaultdict(set)
        for record, values in near.items():
            ids[found.of_record[record]].update(before[t] for t in values if t in before)
        nearby = {
            hid: next(iter(found_ids)) for hid, found_ids in ids.items() if len(found_ids) == 1
        }
    names = sorted(found.tokens)
    taken: set[str] = set()
    for start in range(0, len(names), bulk.BATCH):
        taken.update(
            HouseholdAddress.objects.filter(household__hid__in=names[start : start + bulk.BATCH])
            .values_list("household__hid", flat=True)
            .distinct()
        )
    kept = linking.carry_household_ids(
        found.tokens,
        before,
        taken,
        lambda name, n: pseudonym(namespace, "H", f"{name}\x1f{n}"),
        nearby,
    )
    return Households(
        {record: kept[hid] for record, hid in found.of_record.items()},
        {kept[hid]: persons for hid, persons in found.persons.items()},
        {kept[hid]: tokens for hid, tokens in found.tokens.items()},
    )


def _token_households(tokens: Set[int]) -> dict[int, str]:
    """Each of ``tokens`` (unsigned) that was found before → the household id it was last in."""
    signed = sorted(_signed(t) for t in tokens)
    found: dict[int, str] = {}
    for start in range(0, len(signed), bulk.BATCH):
        for token, hid in HouseholdAddress.objects.filter(
            token__in=signed[start : start + bulk.BATCH]
        ).values_list("token", "household__hid"):
            found[_unsigned(token)] = hid
    return found


def _named_in(
    index: PersonIndex, continues: Sequence[tuple[RecordKey, RecordKey]]
) -> dict[RecordKey, tuple[str, str]]:
    """Each remembered record of ``continues`` → (its person, the household its address was in)."""
    if index.memory is None or not continues:
        return {}
    wanted = {old for _, old in continues}
    rows = {
        key: row
        for row, key in enumerate(
            zip(index.sources.tolist(), index.memory.record_ids.tolist(), strict=True)
        )
        if key in wanted
    }
    tokens = index.memory.tokens[linking.HOUSEHOLD_TOKEN]
    found = _token_households({int(tokens[row]) for row in rows.values() if tokens[row]})
    return {
        key: (str(index.persons[row]), found[int(tokens[row])])
        for key, row in rows.items()
        if int(tokens[row]) in found
    }


@dataclass
class _RecentHomes:
    """Where persons lived in the quarters before this one, for ``linking.stay_after_moving``
    and ``linking.left_behind``."""

    homes: HomesByPerson  # person → (quarter, household id), in order
    children: set[str]  # of them, those under CHILD_AGE this quarter

    @property
    def latest(self) -> dict[str, str]:
        return {pid: homes[-1][1] for pid, homes in self.homes.items()}


def _recent_homes(quarter: str) -> _RecentHomes:
    """Each person's homes over the quarters before ``quarter`` that a partner may still give an
    old address in, and which of them are children this quarter."""
    now = Quarter.parse(quarter)
    quarters = [str(now - k) for k in range(RECENT_HOME_QUARTERS, 0, -1)]
    born_after = now.end.year - CHILD_AGE
    found = _RecentHomes(defaultdict(list), set())
    for pid, when, hid, born in (
        HouseholdMember.objects.filter(quarter__in=quarters)
        .order_by("quarter")
        .values_list("person__pid", "quarter", "household__hid", "person__year_of_birth")
        .iterator(chunk_size=bulk.BATCH)
    ):
        found.homes[pid].append((when, hid))
        if born is not None and born > born_after:
            found.children.add(pid)
    return found


def _households_of(
    persons: Mapping[RecordKey, str], of_record: Mapping[RecordKey, str], recent: _RecentHomes
) -> dict[str, str]:
    """Each person's household this quarter (see the module doc, 2.)."""
    chosen = linking.stay_after_moving(
        linking.choose_households(persons, of_record, recent.latest), recent.homes
    )
    # adults may truly stay behind (a separation); their records decide
    placed_by_own = {
        person for record, person in persons.items() if not record[0].endswith(RELATED_SOURCE)
    }
    chosen.update(linking.left_behind(chosen, recent.homes, recent.children, placed_by_own))
    for person in linking.left_before_a_family_moved_in(chosen, recent.homes, recent.children):
        del chosen[person]
    return chosen


def _indicator_days(row: Mapping[str, Any]) -> Iterator[tuple[str, date]]:
    """A row's indicators as (code, date), leaving out any whose date does not read (the
    row's own check reports those)."""
    for code, _category, day, _value in row.get("ind", []):
        try:
            yield str(code), date.fromisoformat(str(day))
        except ValueError:
            continue


def _births(incoming: Sequence[_Incoming]) -> Births:
    """Years of birth for ``linking.parents_born``: this quarter's, from the rows' identities
    (the hub opens them anyway, to seal them in the vault), and those kinfold keeps for its
    persons (``Person.year_of_birth``, coarse, for ages) with their children's."""
    own: dict[RecordKey, int] = {}
    own_latest: dict[RecordKey, int] = {}
    named: dict[RecordKey, tuple[int | None, int | None]] = {}
    for item in incoming:
        partner = item.file.partner
        for row in item.file.content(transport_private_key()):
            year = _year_of(row["id"])
            if year is not None:
                own[partner, str(row["r"])] = year
            latest = latest_year_of_birth(_indicator_days(row))
            if latest is not None:
                own_latest[partner, str(row["r"])] = latest
            for relation, key, identity in row.get("rel", []):
                child = year if relation in PARENT_RELATIONS else None
                named[partner + RELATED_SOURCE, str(key)] = (_year_of(identity), child)
    pid_of: dict[int, str] = {}
    year_of: dict[int, int] = {}
    for pk, pid, year in Person.objects.values_list("pk", "pid", "year_of_birth").iterator(
        chunk_size=bulk.BATCH
    ):
        pid_of[pk] = pid
        if year is not None:
            year_of[pk] = year
    youngest: dict[int, int] = {}
    # read whole and counted here: a GROUP BY joined to persons took ten times as long
    for parent, child in ParentLink.objects.values_list("parent_id", "child_id").distinct():
        year = year_of.get(child)
        if year is not None and year > youngest.get(parent, 0):
            youngest[parent] = year
    return linking.parents_born(
        own,
        named,
        own_latest,
        {pid_of[pk]: year for pk, year in year_of.items()},
        {pid_of[pk]: year for pk, year in youngest.items()},
    )


@dataclass
class _PlacedApart:
    """Of the known persons linkage would merge, the pairs placed in two different households in
    the same quarter (``linking.placed_apart``): two people, whatever a record that looks like both
    suggests now. Asked for each merge linkage considers, so each person's homes are read once."""

    homes: dict[str, dict[str, int]] = field(default_factory=dict)

    def __call__(self, groups: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
        self._read(sorted({pid for group in groups for pid in group} - set(self.homes)))
        return linking.placed_apart(groups, self.homes)

    def _read(self, pids: list[str]) -> None:
        for pid in pids:
            self.homes[pid] = {}
        for start in range(0, len(pids), bulk.BATCH):
            rows = HouseholdMember.objects.filter(
                person__pid__in=pids[start : start + bulk.BATCH]
            ).values_list("person__pid", "quarter", "household_id")
            for pid, quarter, household in rows:
                self.homes[pid][quarter] = household


def _remembered(index: PersonIndex, tables: Sequence[EncodedTable]) -> EncodedTable | None:
    """The index's remembered encodings, if they can be compared with this quarter's."""
    memory = index.memory
    if memory is None or not len(memory) or memory.header.comparable_with(tables[0].header):
        return None
    return memory


def _previous_index(previous: LinkageState | None) -> PersonIndex:
    if previous is None:
        return PersonIndex.new(person_namespace())
    data = bytes(previous.index)
    if not data:
        raise InputError(f"the person index of {previous.quarter} was pruned; cannot link after it")
    return PersonIndex.from_bytes(data, where=f"linkage state {previous.quarter}")


# -- writing --------------------------------------------------------------------------------------


@dataclass
class _Writer:
    plan: _Plan
    actor: Actor
    report: IngestReport
    progress: Progress | None
    cache: bulk.KeyCache = field(default_factory=bulk.KeyCache)
    persons: dict[str, int] = field(default_factory=dict)  # pid → pk
    years: dict[int, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    months: dict[tuple[int, int], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )  # (person, year) → months
    links: set[tuple[int, int, int]] = field(default_factory=set)
    categories: dict[str, DataCategory] = field(default_factory=dict)

    def run(self) -> None:
        quarter = self.plan.quarter
        self.categories = {c.slug: c for c in DataCategory.objects.all()}
        self._persons()
        started = time.perf_counter()
        merges = self._merges()
        self.report.seconds["merge"] = time.perf_counter() - started
        self._households()
        vault = bulk.VaultWriter(quarter, self.cache)
        for incoming in self.plan.incoming:
            self._bundle(incoming, vault)
        vault.flush()
        self.report.identities_new = vault.created
        self.report.identities_unchanged = vault.seen_again
        self._parent_links()
        self._years()
        self._state()
        self._audit(merges)

    # persons ----------------------------------------------------------------------------------

    def _persons(self) -> None:
        resolution = self.plan.resolution
        pids = sorted(set(resolution.persons.values()))
        self.report.persons = len(
            {
                p
                for (source, _), p in resolution.persons.items()
                if not source.endswith(RELATED_SOURCE)
            }
        )
        for start in range(0, len(pids), bulk.BATCH):
            self.persons.update(
                Person.objects.filter(pid__in=pids[start : start + bulk.BATCH]).values_list(
                    "pid", "pk"
                )
            )
        new = [bulk.NewPerson(pid, self.plan.quarter) for pid in pids if pid not in self.persons]
        made = bulk.create_persons(new, self.cache)
        self.persons.update(made)
        self.report.new_persons = len(made)
        erased = bulk.load_keys(self.persons.values(), self.cache)
        if erased:
            bulk.rekey(erased, self.cache)
            self.report.rekeyed_persons = len(erased)
            self.report.notes.append(
                f"{len(erased)} persons whose data had been erased appeared again: new keys were made "
                "for what arrived now; what was erased stays unreadable"
            )

    def _merges(self) -> list[tuple[str, str]]:
        merged = self.plan.resolution.merged
        # a person already retired stays retired (to whom it went is recorded once)
        found = dict(
            Person.objects.filter(pid__in=list(merged), merged_into__isnull=True).values_list(
                "pid", "pk"
            )
        )
        done = [
            (retired, survivor)
            for retired, survivor in sorted(merged.items())
            if retired in found and survivor in self.persons
        ]
        pairs = [(found[retired], self.persons[survivor]) for retired, survivor in done]
        merges.move_persons(pairs, self.cache)
        bulk.insert_rows(
            PersonMerge,
            ("retired", "survivor", "quarter", "run_id", "created_at"),
            [(r, s, self.plan.quarter, self.actor.run_id, timezone.now()) for r, s in pairs],
        )
        self.report.merged_persons = len(done)
        return done

    # households -------------------------------------------------------------------------------

    def _households(self) -> None:
        chosen = self.plan.household_of
        hids = sorted(set(chosen.values()))
        existing: dict[str, int] = {}
        for start in range(0, len(hids), bulk.BATCH):
            existing.update(
                Household.objects.filter(hid__in=hids[start : start + bulk.BATCH]).values_list(
                    "hid", "pk"
                )
            )
        fresh = [h for h in hids if h not in existing]
        now = timezone.now()
        ids = bulk.insert_returning_ids(Household, ("hid", "created_at"), [(h, now) for h in fresh])
        existing.update(zip(fresh, ids, strict=True))
        self._addresses(existing)
        bulk.insert_rows(
            HouseholdMember,
            ("household", "person", "quarter"),
            [
                (existing[hid], self.persons[pid], self.plan.quarter)
                for pid, hid in sorted(chosen.items())
            ],
        )
        self.report.households = len(hids)
        self.report.household_members = len(chosen)

    def _addresses(self, households: dict[str, int]) -> None:
        """Remember which household each address token of this quarter was found in."""
        rows = sorted(
            (_signed(token), household, self.plan.quarter)
            for hid, household in households.items()
            for token in self.plan.tokens.get(hid, ())
        )
        tokens = [row[0] for row in rows]
        for start in range(0, len(tokens), bulk.BATCH):
            HouseholdAddress.objects.filter(token__in=tokens[start : start + bulk.BATCH]).delete()
        bulk.insert_rows(HouseholdAddress, ("token", "household", "quarter"), rows)

    # a bundle's content -------------------------------------------------------------------------

    def _bundle(self, incoming: _Incoming, vault: bulk.VaultWriter) -> None:
        file, report = incoming.file, incoming.report
        stored = Bundle.objects.create(
            organisation=incoming.organisation,
            quarter=self.plan.quarter,
            file_name=report.file[:255],
            sha256=file.source_sha256,
            rows=report.rows,
            rows_quarantined=len(report.quarantined),
            manifest=file.manifest,
        )
        content = file.content(transport_private_key())
        done = 0
        for batch in _batches(content, BATCH):
            self._batch(incoming, stored, batch, vault)
            done += len(batch)
            if self.progress:
                self.progress(f"write {file.partner}", done, len(file.records))
        if done != len(file.records):
            raise InputError(
                f"its sealed content has {done} rows but its encodings {len(file.records)}",
                file=file.path,
            )
        report.records = done

    def _batch(
        self,
        incoming: _Incoming,
        stored: Bundle,
        batch: list[dict[str, Any]],
        vault: bulk.VaultWriter,
    ) -> None:
        file, organisation, report = incoming.file, incoming.organisation, incoming.report
        persons, quarter = self.plan.resolution.persons, self.plan.quarter
        owners: list[tuple[int, str]] = []
        for item in batch:
            pid = persons.get((file.partner, str(item["r"])))
            if pid is None:
                raise InputError(f"row {item.get('n')} has no encoding", file=file.path)
            owners.append((self.persons[pid], pid))
        ids = bulk.insert_returning_ids(
            PartnerRecord,
            ("bundle", "organisation", "source_ref", "quarter", "person"),
            [
                (stored.pk, organisation.pk, str(item["r"])[:120], quarter, person_id)
                for item, (person_id, _) in zip(batch, owners, strict=True)
            ],
        )
        flags: list[tuple[Any, ...]] = []
        details: list[tuple[Any, ...]] = []
        for item, record_id, (person_id, pid) in zip(batch, ids, owners, strict=True):
            source_ref = str(item["r"])[:120]
            flags.extend(self._flags(item, record_id, person_id, incoming))
            details.extend(self._details(item, record_id, person_id, pid, source_ref, incoming))
            vault.add(person_id, pid, organisation, source_ref, item["id"])
            self._year(person_id, item["id"])
            for relation, key, identity in item.get("rel", []):
                self._related(
                    file.partner,
                    person_id,
                    source_ref,
                    relation,
                    key,
                    identity,
                    organisation,
                    vault,
                )
        bulk.insert_rows(
            Indicator,
            ("record", "person", "organisation", "category", "code", "date", "value"),
            flags,
        )
        bulk.insert_rows(SealedDetail, ("record", "person", "category", "sealed"), details)
        report.indicators += len(flags)
        report.details += len(details)

    def _flags(
        self, item: dict[str, Any], record_id: int, person_id: int, incoming: _Incoming
    ) -> Iterator[tuple[Any, ...]]:
        for code, category, day, value in item.get("ind", []):
            if category not in incoming.allowance.flags or category not in self.categories:
                dropped = incoming.report.dropped_indicators
                dropped[code] = dropped.get(code, 0) + 1
                continue
            yield (
                record_id,
                person_id,
                incoming.organisation.pk,
                self.categories[category].pk,
                str(code)[:60],
                _date(day, incoming.file.path, item),
                None if value is None else float(value),
            )

    def _details(
        self,
        item: dict[str, Any],
        record_id: int,
        person_id: int,
        pid: str,
        source_ref: str,
        incoming: _Incoming,
    ) -> Iterator[tuple[Any, ...]]:
        for category, values in item.get("det", {}).items():
            if category not in incoming.allowance.details or category not in self.categories:
                dropped = incoming.report.dropped_detail
                dropped[category] = dropped.get(category, 0) + 1
                continue
            ad = detail_associated_data(
                pid, incoming.organisation.pk, source_ref, self.plan.quarter, category
            )
            sealed = seal_values(ad, values, self.cache.get(person_id))
            yield (record_id, person_id, self.categories[category].pk, sealed)

    def _related(
        self,
        partner: str,
        child: int,
        source_ref: str,
        relation: str,
        key: str,
        identity: dict[str, str],
        organisation: Organisation,
        vault: bulk.VaultWriter,
    ) -> None:
        pid = self.plan.resolution.persons.get((partner + RELATED_SOURCE, key))
        if pid is None:
            return
        person_id = self.persons[pid]
        vault.add(person_id, pid, organisation, f"{source_ref}/{relation}", identity)
        self._year(person_id, identity)
        if relation in PARENT_RELATIONS and person_id != child:
            plan = self.plan
            if linking.lives_elsewhere_than_named(
                named_at=plan.of_record.get((partner + RELATED_SOURCE, key)),
                child_home=plan.household_of.get(
                    plan.resolution.persons.get((partner, source_ref), "")
                ),
                parent_home=plan.household_of.get(pid),
            ):
                self.report.parent_links_doubtful += 1
                return
            self.links.add((child, person_id, organisation.pk))

    def _year(self, person_id: int, identity: Mapping[str, str]) -> None:
        year = _year_of(identity)
        if year is not None:
            self.years[person_id][year] += 1
            month = _month_of(identity)
            if month is not None:
                self.months[person_id, year][month] += 1

    # after the content ------------------------------------------------------------------------

    def _parent_links(self) -> None:
        quarter = self.plan.quarter
        bulk.insert_rows(
            ParentLink,
            ("child", "parent", "quarter", "organisation"),
            [(c, p, quarter, o) for c, p, o in sorted(self.links)],
        )
        self.report.parent_links = len(self.links)
        if self.report.parent_links_doubtful:
            self.report.notes.append(
                f"{self.report.parent_links_doubtful:,} parents or carers named at the child's own "
                "address were not linked to the child: the person their name was linked to lives "
                "elsewhere (a namesake, most often)"
            )

    def _years(self) -> None:
        """Year and month of birth (coarse, for ages) where a person has none yet: their
        records' most common year (ties: the earlier), and the most common month those records
        give with it (ties: the earlier)."""
        born: dict[int, tuple[int, int | None]] = {}
        for person_id, counted in self.years.items():
            year = min(counted, key=lambda y: (-counted[y], y))
            months = self.months.get((person_id, year))
            month = min(months, key=lambda m: (-months[m], m)) if months else None
            born[person_id] = (year, month)
        bulk.set_missing_births(born)

    def _state(self) -> None:
        plan = self.plan
        index = plan.resolution.index
        LinkageState.objects.create(
            quarter=plan.quarter,
            index=plan.index_bytes,
            index_sha256=hashlib.sha256(plan.index_bytes).hexdigest(),
            persons=len(index),
            records=len(plan.resolution.persons),
            key_id=plan.incoming[0].file.records.header.key_id if plan.incoming else "",
            run_id=self.actor.run_id,
        )
        keep = list(
            LinkageState.objects.order_by("-quarter").values_list("pk", flat=True)[:KEEP_INDEXES]
        )
        LinkageState.objects.exclude(pk__in=keep).exclude(index=b"").update(index=b"")

    def _audit(self, merges: list[tuple[str, str]]) -> None:
        quarter, report = self.plan.quarter, self.report
        entries = []
        for incoming in self.plan.incoming:
            partner = incoming.report
            resource = f"bundle:{quarter}:{partner.partner}"
            counts = {
                "rows": partner.rows,
                "records": partner.records,
                "flags": partner.indicators,
                "details": partner.details,
                "quarantined": len(partner.quarantined),
                "flags_dropped": sum(partner.dropped_indicators.values()),
                "details_dropped": sum(partner.dropped_detail.values()),
            }
            entries.append(
                audit.NewEntry(
                    self.actor,
                    Event.EXTRACT_ENCODED,
                    resource=resource,
                    purpose="identification",
                    basis=",".join(incoming.allowance.agreements)[:200],
                    details=counts,
                )
            )
            if partner.quarantined:
                entries.append(
                    audit.NewEntry(
                        self.actor,
                        Event.EXTRACT_QUARANTINED,
                        resource=resource,
                        reason=f"{len(partner.quarantined)} rows set aside",
                        details={"rows": [q["row"] for q in partner.quarantined[:100]]},
                    )
                )
        entries.extend(
            audit.NewEntry(
                self.actor,
                Event.PERSON_LINKED,
                resource=f"quarter:{quarter}",
                subjects=[retired, survivor],
                reason="new evidence showed two persons are one",
                details={"retired": retired, "survivor": survivor},
            )
            for retired, survivor in merges
        )
        entries.append(
            audit.NewEntry(
                self.actor,
                Event.QUARTER_LINKED,
                resource=f"quarter:{quarter}",
                details={
                    "records": len(self.plan.resolution.persons),
                    "persons": report.persons,
                    "new_persons": report.new_persons,
                    "merged_persons": report.merged_persons,
                    "households": report.households,
                    "parent_links": report.parent_links,
                },
            )
        )
        entries.append(
            audit.NewEntry(
                self.actor,
                Event.QUARTER_INGESTED,
                resource=f"quarter:{quarter}",
                purpose="identification",
                details={
                    "bundles": len(self.plan.incoming),
                    "records": report.records,
                    "quarantined": report.quarantined,
                    "identities_sealed": report.identities_new,
                },
            )
        )
        audit.record_many(entries)


def _batches(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _date(text: Any, where: Path, item: dict[str, Any]) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise InputError(f"row {item.get('n')} has a flag dated '{text}'", file=where) from None
