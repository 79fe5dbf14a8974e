"""Overrides in the portal: shown with their stated reason, or left out when withheld for safety.

Reads the consent part's Override model; skipped while that model does not exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from kinfold.agreements.models import Purpose
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.people.models import Family
from kinfold.rights import oversight
from kinfold.staff.models import User

pytestmark = pytest.mark.django_db


def override_model():  # type: ignore[no-untyped-def]
    try:
        return apps.get_model("consent", "Override")
    except LookupError:
        pytest.skip("the consent part has no Override model yet")


def make_override(family: Family, key_worker: User, manager: User, *, tell: bool, days: int = 30):  # type: ignore[no-untyped-def]
    now = timezone.now()
    return override_model().objects.create(
        family=family,
        purpose=Purpose.objects.get(slug="safeguarding"),
        categories=["health"],
        partners=["northfield-nhs-trust"],
        justification="a child is at risk of significant harm",
        expires_at=now + timedelta(days=days),
        tell_family=tell,
        not_told_reason="" if tell else "telling the household would put a child at risk",
        state="approved",
        proposed_by=key_worker,
        proposed_at=now,
        decided_by=manager,
        decided_at=now,
    )


def view_under(override: object, family: Family) -> None:
    audit.record(
        Actor(kind="user", id="kw.amara", role="key_worker", organisation="northfield-council"),
        Event.RECORD_DETAIL_VIEWED,
        subjects=[family.fid],
        purpose="safeguarding",
        decision="allow",
        reason="an approved override covers this",
        basis=f"override:{override.override_id}",  # type: ignore[attr-defined]
    )


def test_an_override_shows_with_its_stated_reason(
    portal_client: Client, family: Family, key_worker: User, manager: User
) -> None:
    view_under(make_override(family, key_worker, manager, tell=True), family)
    page = portal_client.get("/portal/who-looked/").content.decode()
    assert "approved by a second person, because: a child is at risk of significant harm" in page


def test_an_override_withheld_for_safety_is_left_out(
    portal_client: Client, family: Family, key_worker: User, manager: User
) -> None:
    withheld = make_override(family, key_worker, manager, tell=False)
    view_under(withheld, family)
    page = portal_client.get("/portal/who-looked/").content.decode()
    assert "Looked at details a partner shared" not in page
    assert "significant harm" not in page
    seq = audit.entries(event="record:detail:viewed").entries[0].seq
    assert portal_client.get(f"/portal/proof/{seq}.json").status_code == 404


def test_the_dpo_sees_overrides_near_expiry(
    family: Family, key_worker: User, manager: User
) -> None:
    soon = make_override(family, key_worker, manager, tell=True, days=3)
    make_override(family, key_worker, manager, tell=True, days=30)
    found = [f for f in oversight.findings() if f.kind == "override-expiring"]
    assert [f.title.split()[1] for f in found] == [f"override:{soon.override_id}"]
