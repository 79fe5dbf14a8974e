"""Every role against every page: allowed, or refused — and every refusal leaves an audit entry.

This matrix fails if the access check is removed from any page: a key worker would then see a
family that is not theirs, a manager would see names, and so on.
"""

from __future__ import annotations

import pytest
from django.test import Client

from kinfold.audit.models import AuditEntry
from kinfold.people import services
from kinfold.people.models import Family
from kinfold.staff.models import User
from tests.factories import add_member

ROLES = [
    "anonymous",
    "key_worker",
    "other_key_worker",
    "manager",
    "analyst",
    "dpo",
    "partner",
    "administrator",
]
OWN, OTHER, MISSING = "F7TESTFAMILY", "F7OTHERFAMILY", "F7NOSUCHFAMILY"

# page → expected status per role, in ROLES order (302 = sent to sign in)
MATRIX: dict[str, list[int]] = {
    "/families/": [302, 200, 200, 200, 200, 403, 403, 403],
    f"/families/{OWN}/": [302, 200, 403, 200, 200, 403, 403, 403],
    f"/families/{OTHER}/": [302, 403, 403, 200, 200, 403, 403, 403],
    f"/families/{MISSING}/": [302, 404, 404, 404, 404, 403, 403, 403],
    "/audit/": [302, 403, 403, 403, 403, 200, 403, 403],
    "/referrals/": [302, 403, 403, 403, 403, 403, 200, 403],
    "/staff/": [302, 403, 403, 403, 403, 403, 403, 200],
    f"/families/{OWN}/consent/new/": [302, 200, 403, 403, 403, 403, 403, 403],
    f"/families/{OTHER}/consent/new/": [302, 403, 403, 403, 403, 403, 403, 403],
    f"/families/{MISSING}/consent/new/": [302, 404, 404, 403, 403, 403, 403, 403],
    f"/families/{OWN}/overrides/new/": [302, 200, 403, 200, 403, 403, 403, 403],
    f"/families/{OWN}/referrals/new/": [302, 200, 403, 403, 403, 403, 403, 403],
    "/overrides/": [302, 403, 403, 200, 403, 200, 403, 403],
    "/transparency/": [200] * 8,
    "/transparency/agreements/northfield-supporting-families/": [200] * 8,
    "/transparency/agreements/northfield-supporting-families/v1/": [200] * 8,
    "/transparency/agreements/northfield-supporting-families/v2/policy.cedar": [200] * 8,
    "/transparency/house-rules/": [200] * 8,
    "/privacy/": [200] * 8,
    "/accessibility/": [200] * 8,
}
CASES = [
    (page, role, statuses[i]) for page, statuses in MATRIX.items() for i, role in enumerate(ROLES)
]


@pytest.fixture
def other_family(family: Family) -> Family:
    other = services.create_family(OTHER)
    add_member(other, "adult")
    return other


@pytest.fixture
def users(
    key_worker: User,
    other_key_worker: User,
    manager: User,
    analyst: User,
    dpo: User,
    partner: User,
    administrator: User,
) -> dict[str, User]:
    return {
        "key_worker": key_worker,
        "other_key_worker": other_key_worker,
        "manager": manager,
        "analyst": analyst,
        "dpo": dpo,
        "partner": partner,
        "administrator": administrator,
    }


def client_as(role: str, users: dict[str, User]) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    return client


@pytest.mark.parametrize(("page", "role", "expected"), CASES, ids=[f"{r}-{p}" for p, r, _ in CASES])
def test_access_matrix(
    page: str,
    role: str,
    expected: int,
    users: dict[str, User],
    family: Family,
    other_family: Family,
) -> None:
    before = AuditEntry.objects.count()
    response = client_as(role, users).get(page)
    assert response.status_code == expected
    if expected in (403, 404) and role != "anonymous":
        denied = AuditEntry.objects.filter(decision="deny").order_by("-seq").first()
        assert AuditEntry.objects.count() > before, "a refused read must leave an audit entry"
        assert denied is not None
        assert denied.actor_id == users[role].username


def test_a_key_worker_sees_names_only_of_their_own_family(
    key_worker_client: Client, family: Family, other_family: Family
) -> None:
    own = key_worker_client.get(f"/families/{OWN}/").content.decode()
    assert "Robin Example" in own
    assert "01632 960999" in own
    listing = key_worker_client.get("/families/").content.decode()
    assert OWN in listing
    assert OTHER not in listing


def test_a_manager_sees_pseudonyms_and_flags_but_no_names_or_details(
    manager_client: Client, family: Family
) -> None:
    page = manager_client.get(f"/families/{OWN}/").content.decode()
    assert "Robin Example" not in page
    assert "01632" not in page
    assert "School attendance: 81%" in page  # the flag
    assert "Northfield Academy" not in page  # the detail behind it


def test_details_stay_sealed_without_consent(key_worker_client: Client, family: Family) -> None:
    page = key_worker_client.get(f"/families/{OWN}/").content.decode()
    assert "Northfield Academy" not in page
    assert "needs consent for education data" in page
    assert "needs consent for health data" in page


def test_an_agreement_version_never_loaded_is_not_found(client: Client, agreements: None) -> None:
    assert (
        client.get("/transparency/agreements/northfield-supporting-families/v9/").status_code == 404
    )
    assert client.get("/transparency/agreements/nothing-here/").status_code == 404
