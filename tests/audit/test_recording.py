"""Recording entries (`record`, `record_many`) and reading them back (`entries`, `entries_about`)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from kinfold.audit import services
from kinfold.audit.actors import Actor, ActorError
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry, AuditSubject
from kinfold.audit.privacy import PersonalDataError
from kinfold.audit.services import NewEntry

from .conftest import FAMILY, OTHER_FAMILY, PERSON, FillLog

# ---------------------------------------------------------------------------- actors and events


@pytest.mark.parametrize(
    ("description", "kwargs"),
    [
        ("empty id", {"kind": "user", "id": ""}),
        ("blank id", {"kind": "user", "id": "   "}),
        ("unknown kind", {"kind": "robot", "id": "x"}),
        ("system job without run id", {"kind": "system", "id": "quarter-ingest"}),
        ("id with a newline", {"kind": "user", "id": "kw\nadmin"}),
        ("id too long", {"kind": "user", "id": "k" * 151}),
    ],
)
def test_an_actor_cannot_be_anonymous_or_malformed(
    description: str, kwargs: dict[str, str]
) -> None:
    with pytest.raises(ActorError):
        Actor(**kwargs)  # type: ignore[arg-type]


def test_actor_helpers() -> None:
    job = Actor.system("audit-checkpoint", "run-7")
    assert (job.kind, job.id, job.run_id) == ("system", "audit-checkpoint", "run-7")
    assert Actor.family(FAMILY).kind == "family"
    assert str(job) == "audit-checkpoint (run run-7)"


def test_event_values_follow_one_pattern_and_are_unique() -> None:
    values = [e.value for e in Event]
    assert len(values) == len(set(values))
    for value in values:
        assert re.fullmatch(r"[a-z]+(:[a-z][a-z-]*)+", value), value
    for needed in (
        "family:viewed",
        "family:contact:released",
        "family:consent:given",
        "family:consent:withdrawn",
        "access:denied",
        "access:allowed",
        "agreement:loaded",
        "agreement:approved",
        "agreement:retired",
        "quarter:ingested",
        "quarter:identified",
        "user:signed-in",
        "user:signed-out",
        "user:sign-in-failed",
        "audit:checkpoint",
        "audit:verified",
        "publication:blocked",
        "override:approved",
        "referral:made",
        "rights:erasure:done",
    ):
        assert Event(needed).value == needed
    assert Event.FAMILY_CONSENT_WITHDRAWN.label == "family consent withdrawn"


# ---------------------------------------------------------------------------- recording


@pytest.mark.django_db
def test_record_writes_a_complete_entry(key_worker: Actor) -> None:
    made = services.record(
        key_worker,
        Event.FAMILY_CONTACT_RELEASED,
        resource=f"family:{FAMILY}",
        subjects=[PERSON, FAMILY, PERSON],
        purpose="outreach",
        decision="allow",
        reason="identified this quarter",
        basis="agreement:northfield-supporting-families@v3",
        details={"fields": ["phone"], "count": 1},
    )
    stored = AuditEntry.objects.get(seq=made.seq)
    assert stored.seq == 0
    assert stored.actor == key_worker
    assert stored.event_type is Event.FAMILY_CONTACT_RELEASED
    assert stored.subject_ids == (FAMILY, PERSON)  # sorted, de-duplicated
    assert set(AuditSubject.objects.values_list("subject", flat=True)) == {FAMILY, PERSON}
    assert stored.details == {"fields": ["phone"], "count": 1}
    assert len(bytes(stored.leaf_hash)) == 32


@pytest.mark.django_db
def test_sequence_numbers_are_gap_free(fill_log: FillLog, key_worker: Actor) -> None:
    fill_log(3)
    services.record_many([NewEntry(key_worker, Event.FAMILY_LISTED) for _ in range(5)])
    fill_log(2)
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(10))


@pytest.mark.django_db
def test_record_many_writes_in_order(key_worker: Actor, job: Actor) -> None:
    made = services.record_many(
        [
            NewEntry(job, Event.QUARTER_INGESTED, resource="quarter:2026Q3"),
            NewEntry(job, Event.QUARTER_IDENTIFIED, resource="quarter:2026Q3", subjects=[FAMILY]),
        ]
    )
    assert [m.seq for m in made] == [0, 1]
    assert services.record_many([]) == []


@pytest.mark.django_db
def test_an_entry_recorded_in_a_rolled_back_transaction_is_gone(key_worker: Actor) -> None:
    def update_plan() -> None:
        with transaction.atomic():
            services.record(key_worker, Event.PLAN_UPDATED, subjects=[FAMILY])
            raise RuntimeError("plan not saved")

    with pytest.raises(RuntimeError, match="plan not saved"):
        update_plan()
    assert not AuditEntry.objects.exists()
    assert services.record(key_worker, Event.PLAN_UPDATED).seq == 0  # no gap either


@pytest.mark.django_db
def test_a_durable_record_refuses_to_hide_inside_a_caller_transaction(key_worker: Actor) -> None:
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        services.record(key_worker, Event.ACCESS_DENIED, decision="deny", durable=True)


@pytest.mark.django_db(transaction=True)
def test_a_durable_denial_survives_the_callers_later_rollback(key_worker: Actor) -> None:
    class Refused(Exception):
        pass

    def view() -> None:
        services.record(key_worker, Event.ACCESS_DENIED, decision="deny", durable=True)
        with transaction.atomic():
            services.record(key_worker, Event.FAMILY_VIEWED, decision="allow")
            raise Refused

    with pytest.raises(Refused):
        view()
    assert list(AuditEntry.objects.values_list("event", flat=True)) == ["access:denied"]


@pytest.mark.parametrize(
    ("description", "kwargs", "error"),
    [
        ("email in details", {"details": {"contact": "mum@example.org"}}, PersonalDataError),
        ("mobile in details", {"details": {"note": "call 07700 900123"}}, PersonalDataError),
        ("landline in reason", {"reason": "rang 020 7946 0000"}, PersonalDataError),
        ("NHS number as text", {"details": {"nhs": "943 476 5919"}}, PersonalDataError),
        ("NHS number as int", {"details": {"nhs": 9434765919}}, PersonalDataError),
        ("NI number", {"details": {"ni": "QQ 12 34 56 C"}}, PersonalDataError),
        ("postcode in resource", {"resource": "address:LS1 4AP"}, PersonalDataError),
        ("postcode without space", {"details": {"where": ["ls14ap"]}}, PersonalDataError),
        ("nested email", {"details": {"a": {"b": ["x@example.org"]}}}, PersonalDataError),
        ("float in details", {"details": {"score": 0.5}}, TypeError),
        ("huge integer", {"details": {"n": 2**60}}, ValueError),
        ("bad key", {"details": {"Bad Key": 1}}, ValueError),
        ("subject that is a name", {"subjects": ["Jane Smith"]}, ValueError),
        ("subjects as one string", {"subjects": FAMILY}, TypeError),
        ("unknown decision", {"decision": "maybe"}, ValueError),
        ("NUL in reason", {"reason": "a\x00b"}, ValueError),
        ("reason too long", {"reason": "x" * 501}, ValueError),
        ("details too big", {"details": {"k": "x" * 3000}}, ValueError),
    ],
)
def test_bad_entries_are_refused_before_anything_is_written(
    description: str, kwargs: dict[str, object], error: type[Exception], key_worker: Actor
) -> None:
    with pytest.raises(error):
        NewEntry(key_worker, Event.FAMILY_VIEWED, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "details",
    [
        {"action": "family:view", "agreement": "northfield-supporting-families@v3"},
        {"run": "20261125T101500Z-ab12cd", "rows": 1250, "quarter": "2026Q3"},
        {"category": "police-courts-probation", "partner": "police", "ok": True, "none": None},
        {"families": ["F7K2M9QX4TBA", "F9Q4TB7K2M3X"], "checkpoint": 12},
        {"attendance_pct": 87, "date": "2026-09-30"},
    ],
)
def test_ordinary_details_are_accepted(details: dict[str, object], key_worker: Actor) -> None:
    NewEntry(key_worker, Event.FAMILY_VIEWED, subjects=[FAMILY], details=details)


def test_unknown_events_are_refused(key_worker: Actor) -> None:
    with pytest.raises(ValueError, match="not a valid Event"):
        NewEntry(key_worker, "family:peeked")  # type: ignore[arg-type]


def test_an_actor_is_required(key_worker: Actor) -> None:
    with pytest.raises(TypeError):
        NewEntry("kw.amara", Event.FAMILY_VIEWED)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- reading


@pytest.mark.django_db
def test_entries_filters(fill_log: FillLog, key_worker: Actor, job: Actor) -> None:
    fill_log(6)
    services.record(job, Event.ACCESS_DENIED, resource="family", decision="deny")
    services.record(job, Event.FAMILY_CONSENT_WITHDRAWN, subjects=[FAMILY], resource="consent:C1")

    def seqs(**filters: object) -> list[int]:
        return [e.seq for e in services.entries(**filters).entries]  # type: ignore[arg-type]

    assert seqs() == list(range(7, -1, -1))
    assert seqs(actor=job) == [7, 6]
    assert seqs(actor="kw.amara") == list(range(5, -1, -1))
    assert seqs(event="family:consent") == [7, 3, 0]
    assert seqs(event=Event.FAMILY_CONSENT_WITHDRAWN) == [7]
    assert seqs(event="family:consent:given") == [3, 0]
    assert seqs(decision="deny") == [6]
    assert seqs(subject=OTHER_FAMILY) == [4, 2, 0]
    assert seqs(subject=FAMILY, actor=job) == [7]
    assert seqs(resource="consent") == [7]
    assert seqs(resource="family") == [6, 5, 4, 3, 2, 1, 0]
    now = timezone.now()
    assert seqs(since=now - timedelta(minutes=5), until=now + timedelta(minutes=5)) == seqs()
    assert seqs(until=now - timedelta(minutes=5)) == []


@pytest.mark.django_db
def test_entries_are_paginated_newest_first(fill_log: FillLog) -> None:
    fill_log(7)
    first = services.entries(limit=3)
    assert [e.seq for e in first.entries] == [6, 5, 4]
    second = services.entries(limit=3, before=first.next_before)
    assert [e.seq for e in second.entries] == [3, 2, 1]
    last = services.entries(limit=3, before=second.next_before)
    assert [e.seq for e in last.entries] == [0]
    assert last.next_before is None


@pytest.mark.django_db
def test_entries_about_a_family_carry_their_leaf_index(fill_log: FillLog) -> None:
    fill_log(9)
    page = services.entries_about([FAMILY, PERSON])
    assert [e.index for e in page.entries] == [7, 5, 3, 1]
    assert [e.seq for e in services.entries_about([OTHER_FAMILY], limit=2).entries] == [8, 6]
    assert services.entries_about([]).entries == []
