"""Retention and erasure: what has expired, and crypto-shredding it.

**When a person's data has expired** (as of a date): every flag about them is older than its
category's retention period, and so is every sealed detail (dated by the latest flag on the same
partner record, or the end of the record's quarter); and nothing holds it: no family of theirs has
a current key worker (the programme's journey state is not exposed yet, so an open allocation
stands for open involvement), no consent of theirs is in force, and no subject access request or
correction/objection about them is open (a request freezes the data it is about). A category with
no retention period in any current agreement never expires by itself: it is held, and reported.
A person with no records at all expires with their last family. Retention periods come from the
current approved agreements' ``[retention]`` tables; where two agreements differ, the longer
period applies (each agreement justifies keeping it that long).

**What erasure does**: the person's data key is destroyed, so their identities in the vault, the
sealed details and the words of their requests can never be decrypted again; their identities and
blind indexes, partner records, flags and sealed details are deleted; their portal account is
removed. What remains is the pseudonym (consent history and family membership, which name no one)
and an `Erasure` row with anonymous counts of the flags removed per category — enough for the
programme's past figures to add up, nothing to re-identify anyone. The audit log is never touched:
an ``rights:erasure:done`` entry names the pseudonym and categories, never the data. A family is
erased (its key destroyed) once every member is.

**Backups**: a run that erased anyone then starts a new key epoch (`kinfold.keystore`), re-wraps
every surviving data key under it, and destroys the old epoch keys. A database backup taken
before the run can no longer be decrypted at all, so restoring it cannot resurrect the erased.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from kinfold import keystore
from kinfold.agreements.models import Retention
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor, new_run_id
from kinfold.audit.events import Event
from kinfold.consent.models import ConsentRecord, ConsentState
from kinfold.ingest.models import Indicator, PartnerRecord, SealedDetail
from kinfold.people import keys
from kinfold.people.models import DataKey, Family, FamilyMember, Identity, Person
from kinfold.portal.models import PortalAccount
from kinfold.rights.models import Erasure, FamilyRequest, SubjectAccessRequest
from kinfold.rights.services import add_months
from kinfold.staff.models import Assignment


def retention_months() -> dict[str, int]:
    """Category slug → months, from the current approved agreements (the longest wins)."""
    periods: dict[str, int] = {}
    rows = Retention.objects.filter(
        agreement__is_current=True, agreement__status="approved"
    ).select_related("category")
    for row in rows:
        periods[row.category.slug] = max(periods.get(row.category.slug, 0), row.months)
    return periods


def _quarter_end(quarter: str) -> date:
    year, q = int(quarter[:4]), int(quarter[-1])
    return add_months(date(year, 3 * q, 1), 1) - (date(2000, 1, 2) - date(2000, 1, 1))


@dataclass
class PersonPlan:
    pid: str
    categories: list[str]
    flags: dict[str, int]


@dataclass
class Plan:
    as_of: date
    persons: list[PersonPlan] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # pid → why it is kept


def _records_expire(person: Person, months: dict[str, int], as_of: date) -> tuple[bool, str]:
    for slug, day in Indicator.objects.filter(person=person).values_list("category__slug", "date"):
        if slug not in months:
            return False, f"no retention period for {slug}"
        if add_months(day, months[slug]) >= as_of:
            return False, "within retention"
    latest = dict(
        Indicator.objects.filter(person=person)
        .values("record_id")
        .annotate(last=Max("date"))
        .values_list("record_id", "last")
    )
    details = SealedDetail.objects.filter(person=person).values_list(
        "record_id", "record__quarter", "category__slug"
    )
    for record_id, quarter, slug in details:
        if slug not in months:
            return False, f"no retention period for {slug}"
        day = latest.get(record_id) or _quarter_end(quarter)
        if add_months(day, months[slug]) >= as_of:
            return False, "within retention"
    return True, ""


def _holds(person: Person, as_of: date) -> str:
    families = FamilyMember.objects.filter(person=person).values("family_id")
    if Assignment.objects.current().filter(family_id__in=families).exists():
        return "a key worker is working with the family"
    moment = datetime.combine(as_of, time.min, tzinfo=timezone.get_current_timezone())
    in_force = ConsentRecord.objects.filter(person=person, state=ConsentState.GIVEN).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=moment)
    )
    if in_force.exists():
        return "a consent is in force"
    if SubjectAccessRequest.objects.filter(
        person=person, status=SubjectAccessRequest.Status.OPEN
    ).exists():
        return "a subject access request is open"
    if FamilyRequest.objects.filter(person=person, status=FamilyRequest.Status.OPEN).exists():
        return "a correction or objection is open"
    return ""


def plan(as_of: date | None = None) -> Plan:
    """Who and what would be erased as of `as_of` (default today), and who is held and why."""
    as_of = as_of or timezone.localdate()
    months = retention_months()
    result = Plan(as_of)
    erased = set(Erasure.objects.values_list("subject", flat=True))
    has_records = set(Indicator.objects.values_list("person_id", flat=True).distinct()) | set(
        SealedDetail.objects.values_list("person_id", flat=True).distinct()
    )
    expiring: set[int] = set()
    for person in Person.objects.exclude(pid__in=erased).filter(pk__in=has_records):
        expired, why = _records_expire(person, months, as_of)
        hold = _holds(person, as_of) if expired else ""
        if not expired or hold:
            if why != "within retention" or hold:
                result.held[person.pid] = hold or why
            continue
        expiring.add(person.pk)
        flags = Counter(
            Indicator.objects.filter(person=person).values_list("category__slug", flat=True)
        )
        categories = set(flags) | set(
            SealedDetail.objects.filter(person=person).values_list("category__slug", flat=True)
        )
        result.persons.append(PersonPlan(person.pid, sorted(categories), dict(flags)))
    _plan_families(result, expiring, erased, has_records, as_of)
    return result


def _plan_families(
    result: Plan, expiring: set[int], erased: set[str], has_records: set[int], as_of: date
) -> None:
    members: dict[int, set[int]] = defaultdict(set)
    for family_id, person_id in FamilyMember.objects.values_list("family_id", "person_id"):
        members[family_id].add(person_id)
    gone = expiring | set(Person.objects.filter(pid__in=erased).values_list("pk", flat=True))
    current = set(Assignment.objects.current().values_list("family_id", flat=True))
    pids = dict(Person.objects.values_list("pk", "pid"))
    for family in Family.objects.exclude(fid__in=erased).order_by("fid"):
        people = members.get(family.pk, set())
        with_records = people & has_records
        if not with_records or family.pk in current or not with_records <= gone:
            continue
        for person_id in sorted(people - has_records - gone):  # no records: go with the family
            pid = pids[person_id]
            if not _holds(Person.objects.get(pk=person_id), as_of):
                result.persons.append(PersonPlan(pid, [], {}))
        result.families.append(family.fid)


@dataclass(frozen=True)
class RunReport:
    plan: Plan
    run_id: str
    epochs_destroyed: list[int]
    dry_run: bool


def run(as_of: date | None = None, *, dry_run: bool = False) -> RunReport:
    """Erase everything that has expired as of `as_of` (default today). Audited; idempotent."""
    run_id = new_run_id()
    actor = Actor.system("retention-run", run_id)
    the_plan = plan(as_of)
    if dry_run:
        return RunReport(the_plan, run_id, [], True)
    audit.record(
        actor,
        Event.RETENTION_REVIEWED,
        resource="retention",
        reason=f"retention as of {the_plan.as_of.isoformat()}",
        details={
            "persons": len(the_plan.persons),
            "families": len(the_plan.families),
            "held": len(the_plan.held),
        },
    )
    for item in the_plan.persons:
        erase_person(actor, item, run_id)
    for fid in the_plan.families:
        erase_family(actor, fid, run_id)
    destroyed: list[int] = []
    if (the_plan.persons or the_plan.families) and keystore.enabled():
        destroyed = rotate_epoch(actor)
    return RunReport(the_plan, run_id, destroyed, False)


def erase_person(actor: Actor, item: PersonPlan, run_id: str) -> None:
    """Crypto-shred one person and delete what pointed at their data (see the module doc)."""
    reason = "retention period ended"
    with transaction.atomic():
        person = Person.objects.select_related("data_key").get(pid=item.pid)
        SealedDetail.objects.filter(person=person).delete()
        Indicator.objects.filter(person=person).delete()
        PartnerRecord.objects.filter(person=person).delete()
        Identity.objects.filter(person=person).delete()  # and its blind indexes
        PortalAccount.objects.filter(person=person).delete()
        keys.destroy(person.data_key, reason)
        Erasure.objects.create(
            subject=person.pid,
            kind=Erasure.Kind.PERSON,
            erased_at=timezone.now(),
            run_id=run_id,
            reason=reason,
            categories=item.categories,
            flag_counts=item.flags,
        )
        audit.record(
            actor,
            Event.ERASURE_DONE,
            resource=f"person:{person.pid}",
            subjects=[person.pid],
            reason=reason,
            details={"categories": item.categories, "flags_removed": sum(item.flags.values())},
        )


def erase_family(actor: Actor, fid: str, run_id: str) -> None:
    reason = "every member's data erased"
    with transaction.atomic():
        family = Family.objects.select_related("data_key").get(fid=fid)
        keys.destroy(family.data_key, reason)
        Erasure.objects.create(
            subject=fid,
            kind=Erasure.Kind.FAMILY,
            erased_at=timezone.now(),
            run_id=run_id,
            reason=reason,
        )
        audit.record(
            actor,
            Event.ERASURE_DONE,
            resource=f"family:{fid}",
            subjects=[fid],
            reason=reason,
        )


def rotate_epoch(actor: Actor) -> list[int]:
    """Start a key epoch, re-wrap every live data key under it, destroy the older epochs."""
    number = keystore.start_epoch()
    rewrapped = 0
    live = DataKey.objects.filter(destroyed_at__isnull=True).order_by("pk")
    for key in live.iterator(chunk_size=500):
        with transaction.atomic():
            rewrapped += keys.rewrap(key)
    destroyed = keystore.destroy_before(number)
    audit.record(
        actor,
        Event.KEY_EPOCH_ROTATED,
        resource="keystore",
        reason="old key epochs destroyed after erasure",
        details={"epoch": number, "destroyed": destroyed, "rewrapped": rewrapped},
    )
    return destroyed


def erased_subjects() -> set[str]:
    return set(Erasure.objects.values_list("subject", flat=True))
