"""The public register: each agreement in plain English beside the exact policy enforcing it,
its DPIA, review date and version history; kinfold's own rules; nothing personal."""

from __future__ import annotations

import html

from django.test import Client

from kinfold.access.house import HOUSE_POLICY
from kinfold.agreements.models import Agreement
from kinfold.people.models import Family, FamilyMember

SLUG = "northfield-supporting-families"
PAGE = f"/transparency/agreements/{SLUG}/"


def test_the_agreement_page_publishes_the_exact_policy_text(
    client: Client, agreements: None
) -> None:
    current = Agreement.objects.get(slug=SLUG, version=2)
    page = html.unescape(client.get(PAGE).content.decode())
    for policy in current.policies:
        assert policy["text"].strip() in page
        assert policy["sentence"] in page
    assert "Enforced now" in page
    assert current.dpia_summary.split("\n")[0].strip() in page
    assert "30 November 2027" in page  # review date
    assert "Version 2 adds referrals" in page
    assert f"/transparency/agreements/{SLUG}/v1/" in page
    assert "Chief Executive, Northfield Domestic Abuse Service (2026-11-16)" in page


def test_the_policy_file_is_what_is_stored_and_enforced(client: Client, agreements: None) -> None:
    response = client.get(f"{PAGE}v2/policy.cedar")
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == Agreement.objects.get(slug=SLUG, version=2).policy_text


def test_an_old_version_says_so(client: Client, agreements: None) -> None:
    page = client.get(f"{PAGE}v1/").content.decode()
    assert "kept for the record" in page
    assert "No longer enforced" in page
    assert f"{SLUG}@v1/service-coordination/1" in page


def test_the_house_rules_are_published_as_enforced(client: Client, agreements: None) -> None:
    page = html.unescape(client.get("/transparency/house-rules/").content.decode())
    assert HOUSE_POLICY.strip() in page
    assert "entity Staff in [Role, Organisation]" in page


def test_public_pages_hold_nothing_personal(client: Client, family: Family) -> None:
    people = FamilyMember.objects.filter(family=family).values_list("person__pid", flat=True)
    for url in (PAGE, f"{PAGE}v1/", "/transparency/", "/transparency/house-rules/"):
        page = client.get(url).content.decode()
        assert family.fid not in page
        assert all(pid not in page for pid in people)
        assert "Robin" not in page
        assert "Sky Example" not in page
