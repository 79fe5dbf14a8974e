"""The programme's pages: who may open which (every role against every page), what they show,
small numbers suppressed, and actions through the journey's rules."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kinfold.audit.models import AuditEntry
from kinfold.programme import claims
from kinfold.programme.models import ClaimStatus, IdentificationRun, Journey, RunStatus, State
from kinfold.staff.models import User
from tests.programme.conftest import walk_to_sustained

pytestmark = pytest.mark.django_db

ROLES = ("key_worker", "team_manager", "analyst", "partner_practitioner", "dpo", "admin")
# page name → roles that may open it
PAGES = {
    "dashboard": {"team_manager", "analyst"},
    "runs": {"analyst"},
    "families": {"key_worker", "team_manager", "analyst"},
    "claims": {"team_manager", "analyst"},
    "samples": {"team_manager", "analyst", "dpo"},
}


def client_for(make_user: object, role: str) -> Client:
    traits = {"partner_practitioner": {"police": True}, "team_manager": {"manager": True}}.get(
        role, {role: True}
    )
    user = make_user(username=f"matrix.{role}", **traits)  # type: ignore[operator]
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_page(make_user: object, role: str, page: str) -> None:
    response = client_for(make_user, role).get(reverse(f"programme:{page}"))
    assert response.status_code == (200 if role in PAGES[page] else 403)


def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("programme:dashboard"))
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]


def test_a_key_worker_sees_only_their_own_family_journey(
    casework: Journey, key_worker: User, other_key_worker: User, manager: User
) -> None:
    from kinfold.staff.models import Assignment

    Assignment.objects.create(family=casework.family, key_worker=key_worker, assigned_by=manager)
    Journey.objects.filter(pk=casework.pk).update(state=State.ALLOCATED)
    own, other = Client(), Client()
    own.force_login(key_worker)
    other.force_login(other_key_worker)
    fid = casework.family.fid
    assert fid in own.get(reverse("programme:families")).content.decode()
    assert fid not in other.get(reverse("programme:families")).content.decode()
    page = own.get(reverse("programme:family", args=[fid])).content.decode()
    assert "Release contact details to contact the family" in page
    assert other.get(reverse("programme:family", args=[fid])).status_code == 403
    assert AuditEntry.objects.filter(
        event="access:denied", actor_id=other_key_worker.username
    ).exists()


def test_the_journey_page_moves_the_journey_and_says_what_is_blocked(
    casework: Journey, key_worker: User, manager: User
) -> None:
    from kinfold.staff.models import Assignment

    Assignment.objects.create(family=casework.family, key_worker=key_worker, assigned_by=manager)
    Journey.objects.filter(pk=casework.pk).update(state=State.ALLOCATED)
    client = Client()
    client.force_login(key_worker)
    fid = casework.family.fid
    url = reverse("programme:move", args=[fid])
    response = client.post(url, {"target": "contacted"}, follow=True)
    assert "contacted" in response.content.decode()
    casework.refresh_from_db()
    assert casework.state == State.CONTACTED
    page = client.get(reverse("programme:family", args=[fid])).content.decode()
    assert "not yet, because record the family&#x27;s consent first" in page
    response = client.post(url, {"target": "plan_agreed"}, follow=True)
    assert "cannot move to plan agreed" in response.content.decode()
    casework.refresh_from_db()
    assert casework.state == State.CONTACTED


def test_the_analyst_starts_a_run_and_sees_its_progress(
    improving: Journey, analyst: User, settings: object
) -> None:
    settings.KINFOLD_JOBS = "inline"  # type: ignore[attr-defined]
    client = Client()
    client.force_login(analyst)
    page = client.get(reverse("programme:runs")).content.decode()
    assert "Run identification" in page
    response = client.post(
        reverse("programme:runs"),
        {"quarter": "2016Q3", "framework": str(IdentificationRun.objects.first().framework_path)},  # type: ignore[union-attr]
    )
    run = IdentificationRun.objects.order_by("-created_at", "-id").first()
    assert run is not None
    assert response["Location"] == reverse("programme:run", args=[run.run_id])
    page = client.get(response["Location"]).content.decode()
    assert run.status == RunStatus.DONE
    assert '<dd class="govuk-summary-list__value" id="count-households">1</dd>' in page
    assert "2016Q3: finished" in page


def test_a_running_run_refreshes_itself(analyst: User, casework: Journey) -> None:
    run = IdentificationRun.objects.get()
    IdentificationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, progress=40, stage="forming families"
    )
    client = Client()
    client.force_login(analyst)
    response = client.get(reverse("programme:run", args=[run.run_id]))
    assert response["Refresh"] == "2"
    assert '<progress class="kinfold-progress" max="100" value="40"' in response.content.decode()


def test_the_dashboard_suppresses_small_numbers(improving: Journey, manager: User) -> None:
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("programme:dashboard")).content.decode()
    assert "<svg" in page
    assert "&lt;5" in page
    identified_row = re.search(
        r"<th scope=\"row\" class=\"govuk-table__header\">2015Q4</th>\s*<td[^>]*>([^<]*)</td>", page
    )
    assert identified_row is not None
    assert identified_row.group(1) == "&lt;5"
    assert improving.family.fid not in page


def test_claims_pages_for_the_roles_that_use_them(
    improving: Journey, key_worker: User, manager: User, analyst: User, dpo: User
) -> None:
    walk_to_sustained(improving, key_worker, manager)
    as_analyst, as_manager, as_dpo = Client(), Client(), Client()
    as_analyst.force_login(analyst)
    as_manager.force_login(manager)
    as_dpo.force_login(dpo)
    as_analyst.post(reverse("programme:prepare"), {"quarter": "2016Q3"})
    page = as_manager.get(reverse("programme:claims") + "?quarter=2016Q3").content.decode()
    assert page.count("Prepared, awaiting sign-off") == 2
    claim_ids = re.findall(r'href="/programme/claims/(C[0-9A-Z]+)/"', page)
    assert len(claim_ids) == 2
    for claim_id in claim_ids:
        detail = as_manager.get(reverse("programme:claim", args=[claim_id])).content.decode()
        assert "Sign off this claim" in detail
        as_manager.post(reverse("programme:sign-off", args=[claim_id]))
    assert as_dpo.get(reverse("programme:claim", args=[claim_ids[0]])).status_code == 403
    as_analyst.post(reverse("programme:draw-sample"), {"quarter": "2016Q3"})
    sample_page = as_dpo.get(reverse("programme:sample", args=["2016Q3"])).content.decode()
    assert "Does the evidence support claim" in sample_page
    response = as_analyst.post(reverse("programme:claims-file"), {"quarter": "2016Q3"})
    assert response["Content-Type"].startswith("text/csv")
    assert improving.family.fid in response.content.decode()
    assert set(claims.Claim.objects.values_list("status", flat=True)) == {ClaimStatus.SUBMITTED}
