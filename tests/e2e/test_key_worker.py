"""A key worker signs in, sees only their families, opens one; the pages pass axe-core."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from kinfold.people import services
from kinfold.people.models import Family
from kinfold.staff.models import User
from tests.conftest import PASSWORD
from tests.e2e.conftest import axe_violations, describe, screenshot
from tests.factories import add_member


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_key_worker_sees_only_assigned_families(
    page: Page, live_server: object, key_worker: User, family: Family, tmp_path: Path
) -> None:
    other = services.create_family("F7OTHERFAMILY")
    add_member(other, "adult", identity={"given_name": "Casey", "surname": "Hidden"})
    base = str(live_server.url)  # type: ignore[attr-defined]

    sign_in(page, base, key_worker.username)
    expect(page.get_by_role("heading", name="Your families")).to_be_visible()
    expect(page.get_by_role("link", name=family.fid)).to_be_visible()
    expect(page.get_by_text("F7OTHERFAMILY")).to_have_count(0)
    assert axe_violations(page) == [], describe(axe_violations(page))

    page.get_by_role("link", name=family.fid).click()
    expect(page.get_by_role("heading", name=family.fid)).to_be_visible()
    expect(page.get_by_role("cell", name="Robin Example").first).to_be_visible()
    expect(page.get_by_text("needs consent for health data").first).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screenshot(page, "family-page", tmp_path)

    page.goto(f"{base}/families/F7OTHERFAMILY/")
    expect(page.get_by_role("heading", name="You cannot see this page")).to_be_visible()
    expect(page.get_by_text("Casey")).to_have_count(0)


def test_transparency_pages_are_public_and_accessible(
    page: Page, live_server: object, agreements: None, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    page.goto(f"{base}/transparency/")
    expect(
        page.get_by_role("heading", name="How we share information about families")
    ).to_be_visible()
    assert axe_violations(page) == [], describe(axe_violations(page))
    screenshot(page, "transparency-page", tmp_path)
    page.get_by_role(
        "link", name="Northfield Supporting Families information sharing agreement"
    ).click()
    expect(page.get_by_role("heading", name="What is shared, with whom, and why")).to_be_visible()
    assert axe_violations(page) == [], describe(axe_violations(page))
    screenshot(page, "agreement-page", tmp_path)
