"""The portal's pages: a family sees only its own data, who looked at it (with proofs), its
consents (and can withdraw them), and can ask for a correction or object."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import Client

from kinfold.access import portal as access_portal
from kinfold.access import services as access
from kinfold.audit import checkpoints, merkle
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry
from kinfold.people import services as people
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.rights import services as rights
from kinfold.rights.models import FamilyRequest
from kinfold.staff.models import User
from tests.factories import add_member, give_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_family(family: Family) -> Family:
    other = people.create_family("F7OTHERFAMILY")
    person = add_member(other, "adult", identity={"given_name": "Casey", "surname": "Hidden"})
    give_consent(person, "northfield-schools", "education")
    return other


def last_denial() -> AuditEntry:
    entry = AuditEntry.objects.filter(decision="deny").order_by("-seq").first()
    assert entry is not None
    return entry


def test_what_we_hold_shows_the_family_its_own_data(
    portal_client: Client, other_family: Family
) -> None:
    page = portal_client.get("/portal/what-we-hold/").content.decode()
    assert "As Northfield Borough Council holds them" in page
    assert "Robin" in page
    assert "robin.example@example.org" in page
    assert "Your child: Sky Example" in page
    assert "School attendance: 81%" in page
    assert "From Northfield NHS Trust" in page
    assert "Details: 1 record, kept sealed" in page
    assert "Casey" not in page
    assert "Hidden" not in page
    viewed = AuditEntry.objects.filter(event="family:portal:viewed").order_by("-seq").first()
    assert viewed is not None
    assert viewed.actor_kind == "family"


def test_changing_ids_reaches_nothing_of_another_family(
    portal_client: Client, other_family: Family, parent: Person
) -> None:
    other_consent = (
        FamilyMember.objects.filter(family=other_family).first().person.consents.first()  # type: ignore[union-attr]
    )
    response = portal_client.get(f"/portal/consents/{other_consent.record_id}/withdraw/")
    assert response.status_code == 404
    denial = last_denial()
    assert denial.actor_kind == "family"
    assert denial.actor_id == parent.pid
    assert denial.resource.startswith("portal:consent:")

    response = portal_client.post(f"/portal/consents/{other_consent.record_id}/withdraw/")
    assert response.status_code == 404
    other_consent.refresh_from_db()
    assert other_consent.state == "given"

    about_other = audit.record(
        Actor(kind="user", id="kw.tom", role="key_worker"),
        Event.FAMILY_VIEWED,
        subjects=["F7OTHERFAMILY"],
    )
    before = AuditEntry.objects.filter(decision="deny").count()
    response = portal_client.get(f"/portal/proof/{about_other.seq}.json")
    assert response.status_code == 404
    assert AuditEntry.objects.filter(decision="deny").count() == before + 1

    response = portal_client.post(
        "/portal/ask/",
        {
            "kind": "correction",
            "person": FamilyMember.objects.filter(family=other_family).first().person.pid,
            "text": "x",
        },  # type: ignore[union-attr]
    )
    assert response.status_code == 200  # the form refuses a person outside the account
    assert not FamilyRequest.objects.exists()


def test_who_looked_shows_a_key_worker_view_with_its_proof(
    portal_client: Client, key_worker: User, family: Family
) -> None:
    access.family_view(key_worker, family.fid, "service-coordination")
    checkpoints.make_checkpoint(Actor.system("test", "r1"))
    page = portal_client.get("/portal/who-looked/").content.decode()
    assert "A key worker at Northfield Borough Council" in page
    assert "Looked at your family&#x27;s record" in page
    assert "They are your family&#x27;s key worker" in page
    assert "Coordinating support for a family" in page
    seq = int(re.search(r"/portal/proof/(\d+)\.json", page).group(1))  # type: ignore[union-attr]

    proof = portal_client.get(f"/portal/proof/{seq}.json").json()
    entry_bytes = AuditEntry.objects.get(seq=proof["leaf_index"]).canonical_bytes()
    leaf = merkle.leaf_hash(entry_bytes)
    assert base64.b64decode(proof["leaf_hash"]) == leaf
    merkle.verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        leaf,
        [base64.b64decode(h) for h in proof["inclusion_path"]],
        base64.b64decode(proof["checkpoint"]["root_hash"]),
    )
    Ed25519PublicKey.from_public_bytes(checkpoints.public_key()).verify(
        base64.b64decode(proof["checkpoint"]["signature"]), proof["checkpoint"]["body"].encode()
    )


def test_a_proof_waits_for_the_next_checkpoint(
    portal_client: Client, key_worker: User, family: Family
) -> None:
    access.family_view(key_worker, family.fid, "service-coordination")
    page = portal_client.get("/portal/who-looked/").content.decode()
    assert "its proof is ready after the next signed checkpoint" in page
    seq = AuditEntry.objects.filter(event="family:viewed").latest("seq").seq
    assert portal_client.get(f"/portal/proof/{seq}.json").status_code == 409


def test_withdrawing_a_consent_stops_the_key_worker_seeing_the_detail(
    portal_client: Client, key_worker: User, family: Family, child: Person
) -> None:
    consent = give_consent(child, "northfield-schools", "education", by=key_worker)
    before = access.family_view(key_worker, family.fid, "service-coordination")
    assert any(d.values.get("school") for s in before.sources for d in s.details)

    page = portal_client.get("/portal/consents/").content.decode()
    assert "Education attendance and behaviour from Northfield" in page
    response = portal_client.post(
        f"/portal/consents/{consent.record_id}/withdraw/", {"note": "we want to talk first"}
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.state == "withdrawn"
    withdrawn = AuditEntry.objects.filter(event="family:consent:withdrawn").get()
    assert withdrawn.actor_kind == "family"

    after = access.family_view(key_worker, family.fid, "service-coordination")
    assert not any(d.values.get("school") for s in after.sources for d in s.details)


def test_an_objection_upheld_excludes_the_person_from_identification(
    portal_client: Client, parent: Person, dpo: User
) -> None:
    response = portal_client.post(
        "/portal/ask/",
        {"kind": "objection", "person": parent.pid, "category": "", "text": "Please stop."},
    )
    assert response.status_code == 200
    ref = FamilyRequest.objects.get().ref
    assert ref in response.content.decode()
    assert parent.pk not in set(rights.objecting_person_ids())
    view = rights.request_view(dpo, ref)
    assert view.text == "Please stop."
    rights.decide_request(dpo, ref, "upheld", "we will not use it to identify families")
    assert (
        Person.objects.exclude(pk__in=rights.objecting_person_ids()).filter(pk=parent.pk).count()
        == 0
    )
    assert parent.pid in rights.objecting_pids()


def test_a_parent_living_elsewhere_does_not_see_the_children(family: Family, child: Person) -> None:
    elsewhere = add_member(family, "parent_elsewhere")
    scope = access_portal.scope_of(elsewhere)
    assert scope.children == ()
    adult = FamilyMember.objects.filter(family=family, role="adult").first().person  # type: ignore[union-attr]
    assert child in access_portal.scope_of(adult).children


def test_a_child_sees_only_their_own_data(family: Family, child: Person, parent: Person) -> None:
    scope = access_portal.scope_of(child)
    assert scope.persons == (child,)
    user = access_portal.PortalUser(child.pid)
    held = access_portal.holdings(user)
    assert [h.pid for h in held] == [child.pid]
    with pytest.raises(access.NotFound):
        access_portal.person_in_scope(user, parent.pid)
