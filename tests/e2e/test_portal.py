"""A family member signs in to the portal with a code, sees a key worker's earlier access,
withdraws a consent, and the key worker loses that view. Every page passes axe-core, on a
desktop and on a phone-sized screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kinfold.people.models import Family, FamilyMember
from kinfold.portal import services
from kinfold.staff.models import User
from tests.e2e.conftest import axe_violations, describe, screenshot
from tests.e2e.test_key_worker import sign_in as staff_sign_in
from tests.factories import give_consent

PARENT_EMAIL = "robin.example@example.org"


@pytest.fixture(autouse=True)
def outbox(settings: object, tmp_path: Path) -> Path:
    folder = tmp_path / "outbox"
    settings.KINFOLD_PORTAL_NOTIFIER = "file"  # type: ignore[attr-defined]
    settings.KINFOLD_PORTAL_OUTBOX = str(folder)  # type: ignore[attr-defined]
    return folder


def accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def portal_sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/portal/")
    expect(
        page.get_by_role("heading", name="See the information we hold about your family")
    ).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Start now").click()
    page.get_by_label("What is your email address or mobile number?").fill(PARENT_EMAIL)
    accessible(page)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    accessible(page)
    page.get_by_label("Enter the code").fill(services.latest_code_in_outbox())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your information")).to_be_visible()


def test_a_family_member_withdraws_consent_and_the_key_worker_loses_the_view(
    browser: Browser,
    page: Page,
    live_server: object,
    key_worker: User,
    family: Family,
    tmp_path: Path,
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    parent = FamilyMember.objects.get(family=family, role="adult").person
    child = FamilyMember.objects.get(family=family, role="child").person
    give_consent(child, "northfield-schools", "education", by=key_worker)
    services.register_account(key_worker, parent.pid, "email", PARENT_EMAIL)

    # earlier: the key worker looks at the family and sees the school's detail, by consent
    staff_sign_in(page, base, key_worker.username)
    page.goto(f"{base}/families/{family.fid}/")
    expect(page.get_by_text("Northfield Academy")).to_be_visible()

    # the parent, on their own phone
    phone = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    family_page = phone.new_page()
    portal_sign_in(family_page, base)
    accessible(family_page)
    screenshot(family_page, "portal-home-phone", tmp_path)

    family_page.get_by_role("link", name="Who looked at it").first.click()
    expect(
        family_page.get_by_role("heading", name="Who looked at your information")
    ).to_be_visible()
    expect(
        family_page.get_by_text("A key worker at Northfield Borough Council").first
    ).to_be_visible()
    expect(family_page.get_by_text("Looked at details a partner shared").first).to_be_visible()
    expect(family_page.get_by_text("Consent given for this").first).to_be_visible()
    accessible(family_page)
    screenshot(family_page, "portal-who-looked-phone", tmp_path)

    family_page.get_by_role("link", name="What we hold").first.click()
    expect(family_page.get_by_text("School attendance: 81%")).to_be_visible()
    accessible(family_page)
    screenshot(family_page, "portal-what-we-hold-phone", tmp_path)

    family_page.get_by_role("link", name="Your consents").first.click()
    expect(family_page.get_by_role("heading", name="Your consents")).to_be_visible()
    accessible(family_page)
    family_page.get_by_role(
        "link", name="Withdraw consent for Education attendance and behaviour"
    ).click()
    accessible(family_page)
    family_page.get_by_label("Tell us why (optional)").fill("We would like to talk about it first.")
    family_page.get_by_role("button", name="Withdraw consent").click()
    expect(family_page.get_by_text("Consent withdrawn")).to_be_visible()
    expect(family_page.get_by_text("Withdrawn", exact=True)).to_be_visible()
    screenshot(family_page, "portal-consents-phone", tmp_path)

    family_page.get_by_role("link", name="Ask for a correction or object").first.click()
    accessible(family_page)
    phone.close()

    # the key worker's next look: the detail is withheld
    page.goto(f"{base}/families/{family.fid}/")
    expect(page.get_by_text("needs consent for education data").first).to_be_visible()
    expect(page.get_by_text("Northfield Academy")).to_have_count(0)


def test_the_portal_on_a_desktop(
    page: Page, live_server: object, key_worker: User, family: Family, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    parent = FamilyMember.objects.get(family=family, role="adult").person
    services.register_account(key_worker, parent.pid, "email", PARENT_EMAIL)
    portal_sign_in(page, base)
    screenshot(page, "portal-home", tmp_path)
    page.get_by_role("link", name="What we hold").first.click()
    accessible(page)
    screenshot(page, "portal-what-we-hold", tmp_path)
    page.goto(f"{base}/portal/sign-in/")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_text("Enter your email address or mobile number").first).to_be_visible()
    accessible(page)
