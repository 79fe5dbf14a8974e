"""Consent, overrides and referrals through the staff pages: what each view shows, and the log.

Each test drives the pages as the people would (forms posted with their CSRF-free test client)
and checks both the page and the audit entry the decision left.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kinfold.audit.models import AuditEntry
from kinfold.consent.models import ConsentRecord, ConsentState, Override, Referral
from kinfold.people import services as people
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import User
from tests.factories import add_record

FID = "F7TESTFAMILY"
FAMILY = f"/families/{FID}/"


def member(family: Family, role: str) -> Person:
    return FamilyMember.objects.get(family=family, role=role).person


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def record_consent(client: Client, pid: str, categories: list[str], **extra: object) -> str:
    data = {
        "pid": pid,
        "recipient": "northfield-council",
        "categories": categories,
        "state": "given",
        "given_by": "self",
        "method": "written",
        "notice_version": "2026-11",
        "evidence_ref": "signed form 17",
    } | extra
    response = client.post(f"{FAMILY}consent/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    match = re.search(r"/consent/receipts/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def latest(event: str, **filters: object) -> AuditEntry:
    entry = AuditEntry.objects.filter(event=event, **filters).order_by("-seq").first()
    assert entry is not None, f"no {event} entry"
    return entry


# ---------------------------------------------------------------------------- consent


def test_consent_shows_details_by_category_and_its_withdrawal_hides_them(
    key_worker_client: Client, family: Family
) -> None:
    child = member(family, "child")
    before = key_worker_client.get(FAMILY).content.decode()
    assert "Northfield Academy" not in before
    assert "needs consent for education data" in before

    receipt_id = record_consent(key_worker_client, child.pid, ["education", "social-care"])
    records = ConsentRecord.objects.filter(receipt_id=receipt_id)
    assert {r.category.slug for r in records} == {"education", "social-care"}
    assert records.filter(organisation__slug="northfield-schools").count() == 2

    page = key_worker_client.get(FAMILY).content.decode()
    assert "Northfield Academy" in page
    assert "needs consent for health data" in page
    viewed = latest("record:detail:viewed", resource="record:northfield-schools:education")
    assert viewed.basis.startswith("consent:")
    assert viewed.details["agreement"] == "northfield-supporting-families@v2"
    assert viewed.details["policies"] == [
        "northfield-supporting-families@v2/service-coordination/1"
    ]

    education = records.get(category__slug="education", organisation__slug="northfield-schools")
    confirm = key_worker_client.get(f"/consent/{education.record_id}/withdraw/?family={FID}")
    assert confirm.status_code == 200
    assert "Northfield schools" in confirm.content.decode()
    done = key_worker_client.post(
        f"/consent/{education.record_id}/withdraw/", {"family": FID, "note": "changed mind"}
    )
    assert done.status_code == 302
    assert done["Location"] == FAMILY
    assert not ConsentRecord.objects.filter(
        receipt_id=receipt_id, category__slug="education", state=ConsentState.GIVEN
    ).exists()
    assert ConsentRecord.objects.filter(
        receipt_id=receipt_id, category__slug="social-care", state=ConsentState.GIVEN
    ).exists(), "withdrawing education leaves social care as it was"

    after = key_worker_client.get(FAMILY).content.decode()
    assert "Northfield Academy" not in after
    assert "needs consent for education data" in after
    denied = latest("access:denied", resource="record:northfield-schools:education")
    assert denied.reason == "needs consent for education data"
    assert latest("family:consent:withdrawn").subjects.split()[0] in (child.pid, FID)


def test_the_receipt_in_html_json_and_pdf(key_worker_client: Client, family: Family) -> None:
    child = member(family, "child")
    receipt_id = record_consent(key_worker_client, child.pid, ["education"])
    html = key_worker_client.get(f"/consent/receipts/{receipt_id}/")
    assert html.status_code == 200
    text = html.content.decode()
    assert "Education attendance and behaviour" in text
    assert "signed form 17" in text

    document = json.loads(
        key_worker_client.get(f"/consent/receipts/{receipt_id}/receipt.json").content
    )
    assert document["header"]["schema"].startswith("ISO/IEC TS 27560")
    assert document["header"]["subject"]["pseudonymous_id"] == child.pid
    assert document["notice"]["version"] == "2026-11"
    assert document["method"] == {"medium": "written", "evidence_reference": "signed form 17"}
    sources = {p["source"]["id"] for p in document["processing"]}
    assert "northfield-schools" in sources
    assert all(p["recipient"]["id"] == "northfield-council" for p in document["processing"])
    assert all(
        p["data_category"]["fides_key"] == "user.childrens.education"
        for p in document["processing"]
    )
    assert {e["type"] for e in document["events"]} == {"given"}

    pdf = key_worker_client.get(f"/consent/receipts/{receipt_id}/receipt.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    body = pdf.content
    assert body.startswith(b"%PDF-1.4")
    assert body.rstrip().endswith(b"%%EOF")
    xref_at = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert body[xref_at:].startswith(b"xref")
    assert b"Education attendance and behaviour" in body


def test_a_receipt_is_not_for_other_staff(
    key_worker_client: Client, family: Family, other_key_worker: User, analyst: User
) -> None:
    receipt_id = record_consent(key_worker_client, member(family, "child").pid, ["education"])
    for user in (other_key_worker, analyst):
        response = client_for(user).get(f"/consent/receipts/{receipt_id}/receipt.json")
        assert response.status_code == 403
        assert latest("access:denied").actor_id == user.username
    assert Client().get(f"/consent/receipts/{receipt_id}/receipt.json").status_code == 404


@pytest.mark.parametrize(
    ("description", "changes", "field", "words"),
    [
        ("no categories", {"categories": []}, "categories", "required"),
        ("an adult cannot have a parent consent", {"given_by": "parent"}, "given_by", "adult"),
        ("an unknown recipient", {"recipient": "acme"}, "recipient", "valid choice"),
    ],
)
def test_a_consent_form_with_a_mistake_says_what(
    key_worker_client: Client,
    family: Family,
    description: str,
    changes: dict[str, object],
    field: str,
    words: str,
) -> None:
    data = {
        "pid": member(family, "adult").pid,
        "recipient": "northfield-council",
        "categories": ["education"],
        "state": "given",
        "given_by": "self",
        "method": "written",
        "notice_version": "2026-11",
    } | changes
    response = key_worker_client.post(f"{FAMILY}consent/new/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert words in page
    assert f'href="#id_{field}' in page
    assert not ConsentRecord.objects.exists()


def test_only_the_key_worker_records_consent(
    manager_client: Client, other_key_worker: User, family: Family
) -> None:
    assert manager_client.get(f"{FAMILY}consent/new/").status_code == 403
    other = client_for(other_key_worker)
    response = other.post(
        f"{FAMILY}consent/new/",
        {"pid": member(family, "adult").pid, "categories": ["health"], "recipient": "x"},
    )
    assert response.status_code == 403
    assert latest("access:denied").reason == "you are not this family's key worker"
    assert not ConsentRecord.objects.exists()


# ---------------------------------------------------------------------------- overrides


def propose(client: Client, pid: str = "", **extra: object) -> Override:
    data = {
        "pid": pid,
        "categories": ["health"],
        "partners": ["northfield-nhs-trust"],
        "justification": "Risk of serious harm to the child; consent would alert the person.",
        "expires_on": (timezone.now() + timedelta(days=10)).date().isoformat(),
        "tell_family": "yes",
    } | extra
    response = client.post(f"{FAMILY}overrides/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Override.objects.order_by("-id").first()  # type: ignore[return-value]


def test_an_approved_override_shows_health_naming_itself_until_it_ends(
    key_worker_client: Client, manager_client: Client, family: Family
) -> None:
    override = propose(key_worker_client)
    short = str(override.override_id)[:8]
    assert override.state == "proposed"
    assert "Community mental health team" not in key_worker_client.get(FAMILY).content.decode()

    page = manager_client.get(f"/overrides/{override.override_id}/").content.decode()
    assert "Risk of serious harm" in page
    decided = manager_client.post(f"/overrides/{override.override_id}/", {"decision": "approve"})
    assert decided.status_code == 302
    override.refresh_from_db()
    assert override.state == "approved"
    assert latest("override:approved").actor_id == "mgr.jo"
    assert latest("override:family-told").resource == f"override:{override.override_id}"

    shown = key_worker_client.get(FAMILY).content.decode()
    assert "Community mental health team" in shown
    assert f"Shown under override {short}" in shown
    viewed = latest("record:detail:viewed", resource="record:northfield-nhs-trust:health")
    assert viewed.basis == f"override:{override.override_id}"
    assert viewed.purpose == "safeguarding"
    assert viewed.details["policies"] == ["northfield-supporting-families@v2/safeguarding/2"]

    ended = key_worker_client.post(
        f"/overrides/{override.override_id}/end/", {"family": FID, "note": "risk has passed"}
    )
    assert ended.status_code == 302
    override.refresh_from_db()
    assert override.state == "revoked"
    assert "Community mental health team" not in key_worker_client.get(FAMILY).content.decode()


def test_whoever_proposes_cannot_approve(manager_client: Client, family: Family) -> None:
    override = propose(manager_client)
    response = manager_client.post(f"/overrides/{override.override_id}/", {"decision": "approve"})
    assert response.status_code == 403
    override.refresh_from_db()
    assert override.state == "proposed"
    denied = latest("access:denied", resource=f"override:{override.override_id}")
    assert denied.details["policies"] == ["house/second-person"]


def test_the_dpo_sees_every_override_and_may_decide(
    key_worker_client: Client, dpo_client: Client, family: Family
) -> None:
    hidden = propose(
        key_worker_client,
        tell_family="no",
        not_told_reason="Telling the father would put the mother at risk.",
    )
    register = dpo_client.get("/overrides/").content.decode()
    assert str(hidden.override_id)[:8] in register
    assert "family not told" in register
    response = dpo_client.post(
        f"/overrides/{hidden.override_id}/", {"decision": "reject", "note": "Not serious enough"}
    )
    assert response.status_code == 302
    hidden.refresh_from_db()
    assert hidden.state == "rejected"


def test_an_override_form_refuses_a_missing_reason_not_to_tell(
    key_worker_client: Client, family: Family
) -> None:
    data = {
        "categories": ["health"],
        "partners": ["northfield-nhs-trust"],
        "justification": "Risk of serious harm to the child; consent would alert the person.",
        "expires_on": (timezone.now() + timedelta(days=10)).date().isoformat(),
        "tell_family": "no",
    }
    response = key_worker_client.post(f"{FAMILY}overrides/new/", data)
    assert response.status_code == 200
    assert "would put someone at risk" in response.content.decode()
    assert not Override.objects.exists()


# ---------------------------------------------------------------------------- referrals


@pytest.fixture
def violence(family: Family) -> Person:
    parent = member(family, "adult")
    add_record(parent, "northfield-police", "violence-in-the-home", "police.domestic_incident")
    return parent


def consent_to_das(client: Client, pid: str) -> None:
    record_consent(client, pid, ["violence-in-the-home"], recipient="northfield-da-service")


def send(client: Client, pid: str, category: str = "violence-in-the-home") -> object:
    return client.post(
        f"{FAMILY}referrals/new/?to=northfield-da-service&purpose=service-coordination",
        {"items": [f"{pid}|{category}"], "message": "Please contact the mother about support."},
    )


def test_a_referral_sends_only_what_consent_allows_and_the_partner_sees_only_it(
    key_worker_client: Client,
    family: Family,
    violence: Person,
    da_practitioner: User,
    partner: User,
) -> None:
    refused = send(key_worker_client, violence.pid)
    assert refused.status_code == 200
    assert "needs consent for violence in the home data" in refused.content.decode()
    assert not Referral.objects.exists()
    assert latest("access:denied", resource="referral:northfield-da-service")

    consent_to_das(key_worker_client, violence.pid)
    sent = send(key_worker_client, violence.pid)
    assert sent.status_code == 302
    referral = Referral.objects.get()
    assert referral.items.get().basis.startswith("consent:")
    assert latest("referral:made").details["recipient"] == "northfield-da-service"

    das = client_for(da_practitioner)
    inbox = das.get("/referrals/").content.decode()
    assert str(referral.referral_id)[:8] in inbox
    page = das.get(f"/referrals/{referral.referral_id}/").content.decode()
    assert "Domestic incident attended by police" in page
    assert "Please contact the mother" in page
    assert FID not in page, "the partner sees the referral, not the family"
    assert "Robin" not in page
    assert "Northfield Academy" not in page

    police = client_for(partner)
    assert police.get(f"/referrals/{referral.referral_id}/").status_code == 403
    assert das.get(FAMILY).status_code == 403

    assert (
        das.post(f"/referrals/{referral.referral_id}/respond/", {"to": "accepted"}).status_code
        == 302
    )
    done = das.post(
        f"/referrals/{referral.referral_id}/respond/", {"to": "done", "note": "Support given"}
    )
    assert done.status_code == 302
    referral.refresh_from_db()
    assert referral.state == "done"
    assert das.get(f"/referrals/{referral.referral_id}/").status_code == 403
    kw_view = key_worker_client.get(f"/referrals/{referral.referral_id}/").content.decode()
    assert "Support given" in kw_view


def test_a_withdrawn_consent_withholds_a_sent_item(
    key_worker_client: Client, family: Family, violence: Person, da_practitioner: User
) -> None:
    consent_to_das(key_worker_client, violence.pid)
    assert send(key_worker_client, violence.pid).status_code == 302
    referral = Referral.objects.get()
    record = ConsentRecord.objects.get(recipient__slug="northfield-da-service")
    key_worker_client.post(f"/consent/{record.record_id}/withdraw/", {"family": FID})
    page = client_for(da_practitioner).get(f"/referrals/{referral.referral_id}/").content.decode()
    assert "Domestic incident attended by police" not in page
    assert "needs consent for violence in the home data" in page


def test_a_partner_cannot_reject_without_a_reason_and_a_revoked_referral_closes(
    key_worker_client: Client, family: Family, violence: Person, da_practitioner: User
) -> None:
    consent_to_das(key_worker_client, violence.pid)
    send(key_worker_client, violence.pid)
    referral = Referral.objects.get()
    das = client_for(da_practitioner)
    das.post(f"/referrals/{referral.referral_id}/respond/", {"to": "rejected"})
    referral.refresh_from_db()
    assert referral.state == "sent"
    key_worker_client.post(f"/referrals/{referral.referral_id}/revoke/", {"note": "not needed"})
    referral.refresh_from_db()
    assert referral.state == "revoked"
    assert das.get(f"/referrals/{referral.referral_id}/").status_code == 403


def test_a_category_the_agreement_does_not_send_that_partner_is_refused(
    key_worker_client: Client, family: Family, violence: Person
) -> None:
    consent_to_das(key_worker_client, violence.pid)
    response = send(key_worker_client, violence.pid, category="health")
    assert response.status_code == 200
    assert "valid choice" in response.content.decode()
    assert not Referral.objects.exists()


# ---------------------------------------------------------------------------- the family's receipt


def test_a_family_member_signed_in_to_the_portal_reads_their_receipt(
    key_worker_client: Client, family: Family, key_worker: User
) -> None:
    from kinfold.portal.models import PortalAccount
    from kinfold.staff.models import Assignment
    from tests.factories import add_member

    parent, child = member(family, "adult"), member(family, "child")
    own = record_consent(key_worker_client, parent.pid, ["health"])
    childs = record_consent(key_worker_client, child.pid, ["education"])
    stranger_family = people.create_family("F7STRANGERFAM")
    stranger = add_member(stranger_family, "adult")
    Assignment.objects.create(family=stranger_family, key_worker=key_worker, assigned_by=key_worker)
    data = {
        "pid": stranger.pid,
        "recipient": "northfield-council",
        "categories": ["health"],
        "state": "given",
        "given_by": "self",
        "method": "written",
        "notice_version": "2026-11",
    }
    response = key_worker_client.post("/families/F7STRANGERFAM/consent/new/", data)
    theirs = response["Location"].split("/")[-2]

    PortalAccount.objects.create(
        person=parent, contact_kind="email", contact_digest="d" * 64, created_by="kw.amara"
    )
    portal = Client()
    session = portal.session
    session["kinfold_portal"] = {"pid": parent.pid}
    session.save()
    document = json.loads(portal.get(f"/consent/receipts/{own}/receipt.json").content)
    assert document["header"]["subject"]["pseudonymous_id"] == parent.pid
    assert latest("family:portal:viewed").resource == f"consent-receipt:{own}"
    assert portal.get(f"/consent/receipts/{childs}/").status_code == 200, "their dependent child"
    assert portal.get(f"/consent/receipts/{theirs}/").status_code == 404
    assert latest("access:denied").actor_id == parent.pid
    PortalAccount.objects.filter(person=parent).update(closed_at=timezone.now())
    assert portal.get(f"/consent/receipts/{own}/receipt.json").status_code == 404
