"""Subject access for the DPO: find, open (one-month deadline), extend, export, release."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kinfold.access import services as access
from kinfold.audit.models import AuditEntry
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.rights import services
from kinfold.rights.models import SubjectAccessRequest
from kinfold.staff.models import User
from tests.factories import give_consent

pytestmark = pytest.mark.django_db

MONTHS = [
    ("an ordinary day", date(2026, 3, 15), 1, date(2026, 4, 15)),
    ("the 31st into a 30-day month", date(2026, 3, 31), 1, date(2026, 4, 30)),
    ("the 31st January into February", date(2026, 1, 31), 1, date(2026, 2, 28)),
    ("a leap year", date(2028, 1, 30), 1, date(2028, 2, 29)),
    ("over the year end", date(2026, 12, 15), 1, date(2027, 1, 15)),
    ("the two-month extension", date(2026, 4, 30), 2, date(2026, 6, 30)),
]


@pytest.mark.parametrize(
    ("description", "start", "months", "expected"), MONTHS, ids=[m[0] for m in MONTHS]
)
def test_one_calendar_month(description: str, start: date, months: int, expected: date) -> None:
    assert services.add_months(start, months) == expected


@pytest.fixture
def child(family: Family) -> Person:
    return FamilyMember.objects.get(family=family, role="child").person


def test_the_dpo_finds_a_person_by_surname_and_date_of_birth(dpo: User, child: Person) -> None:
    from kinfold.access import portal

    found = portal.find_persons(dpo, [("surname", "EXAMPLE"), ("dob", "2008-02-02")])
    assert found == [child]
    search = AuditEntry.objects.filter(resource="person:search").get()
    assert search.details["fields"] == ["dob", "surname"]
    assert "2008" not in str(search.details)


def test_only_the_dpo_can_search(key_worker: User) -> None:
    from kinfold.access import portal

    with pytest.raises(NotPermitted):
        portal.find_persons(key_worker, [("surname", "Example")])


def test_a_request_produces_everything_held_and_is_audited(
    dpo: User, key_worker: User, family: Family, child: Person
) -> None:
    give_consent(child, "northfield-schools", "education", by=key_worker)
    Person.objects.filter(pk=child.pk).update(month_of_birth=7)
    access.family_view(key_worker, family.fid, "service-coordination")
    sar = services.open_subject_access(dpo, child.pid, "passport seen at the front desk")
    assert sar.due_by == services.add_months(sar.received_at.date(), 1)

    document = services.export(dpo, sar.ref)
    assert document["person"]["id"] == child.pid
    held = Person.objects.get(pk=child.pk)
    assert document["person"]["year_of_birth"] == held.year_of_birth
    assert document["person"]["month_of_birth"] == 7  # held for ages, so shown to the person
    assert document["identities"][0]["fields"]["given_name"] == "Sky"
    assert document["flags"][0]["code"] == "school.attendance"
    assert document["details"][0]["values"] == {"school": "Northfield Academy"}
    assert document["consents"][0]["state"] == "given"
    assert any(e["event"] == "record:detail:viewed" for e in document["access_history"])
    html = services.export_html(document)
    assert "Northfield Academy" in html
    assert "Sky" in html

    services.release(dpo, sar.ref)
    sar.refresh_from_db()
    assert sar.status == SubjectAccessRequest.Status.RELEASED
    events = list(
        AuditEntry.objects.filter(resource=f"subject-access:{sar.ref}").values_list(
            "event", flat=True
        )
    )
    assert "rights:subject-access:requested" in events
    assert "rights:subject-access:exported" in events
    assert "rights:subject-access:fulfilled" in events
    with pytest.raises(KinfoldError, match="already been answered"):
        services.release(dpo, sar.ref)


def test_the_deadline_is_extended_once_with_a_reason(dpo: User, child: Person) -> None:
    sar = services.open_subject_access(dpo, child.pid, "known to the key worker")
    with pytest.raises(KinfoldError, match="reason"):
        services.extend_subject_access(dpo, sar.ref, " ")
    sar = services.extend_subject_access(dpo, sar.ref, "records from five partners")
    assert sar.extended_to == services.add_months(sar.due_by, 2)
    with pytest.raises(KinfoldError, match="already been extended"):
        services.extend_subject_access(dpo, sar.ref, "again")
    assert services.deadline_state(sar, sar.extended_to) == "due soon"
    assert services.deadline_state(sar, services.add_months(sar.extended_to, 1)) == "overdue"  # type: ignore[arg-type]


def test_the_dpo_pages(dpo_client: Client, child: Person, key_worker_client: Client) -> None:
    found = dpo_client.get("/dpo/subject-access/find/", {"surname": "Example", "dob": "2008-02-02"})
    assert child.pid in found.content.decode()
    opened = dpo_client.post(
        "/dpo/subject-access/open/", {"pid": child.pid, "verified_by": "birth certificate"}
    )
    assert opened.status_code == 302
    page = dpo_client.get(opened["Location"]).content.decode()
    assert "Due by" in page
    ref = SubjectAccessRequest.objects.get().ref
    exported = dpo_client.get(f"/dpo/subject-access/{ref}/export.json")
    assert exported.json()["person"]["id"] == child.pid
    assert "attachment" in exported["Content-Disposition"]
    assert dpo_client.get(f"/dpo/subject-access/{ref}/export.html").status_code == 200
    assert dpo_client.get("/dpo/").status_code == 200
    assert key_worker_client.get("/dpo/").status_code == 403
    assert key_worker_client.get(f"/dpo/subject-access/{ref}/export.json").status_code == 403
