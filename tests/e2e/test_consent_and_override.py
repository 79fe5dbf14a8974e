"""Consent by category, a lawful override approved by a second person, and withdrawal, in a browser.

A key worker records consent for education and social care only: health stays hidden. A team
manager approves an override for health: it shows, naming the override. Ending the override and
withdrawing the consent hide them again. Every one of those views is in the audit log, and the
pages pass axe-core.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from kinfold.audit.models import AuditEntry
from kinfold.consent.models import Override
from kinfold.people.models import Family, FamilyMember
from kinfold.staff.models import User
from tests.conftest import PASSWORD
from tests.e2e.conftest import axe_violations, describe, screenshot
from tests.factories import add_record


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def details(person: str, words: str, subject: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            event=words, subjects__contains=subject, resource=person
        ).order_by("seq")
    )


def test_consent_override_and_withdrawal_each_change_the_view_and_are_logged(
    page: Page,
    browser: Browser,
    live_server: object,
    key_worker: User,
    manager: User,
    family: Family,
    tmp_path: Path,
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    child = FamilyMember.objects.get(family=family, role="child").person
    parent = FamilyMember.objects.get(family=family, role="adult").person
    add_record(
        child,
        "northfield-childrens-services",
        "social-care",
        "csc.early_help",
        {"worker": "Early help team, north locality"},
    )
    family_url = f"{base}/families/{family.fid}/"

    # 1. consent for education and social care only
    sign_in(page, base, key_worker.username)
    page.goto(family_url)
    expect(page.get_by_text("needs consent for health data").first).to_be_visible()
    page.get_by_role("button", name="Record consent").click()
    expect(page.get_by_role("heading", name="Record consent")).to_be_visible()
    page.get_by_role("radio", name=child.pid).check()
    page.get_by_role("checkbox", name="Education attendance and behaviour").check()
    page.get_by_role("checkbox", name="Social care", exact=True).check()
    page.get_by_label("Evidence reference (optional)").fill("signed form 17")
    accessible(page)
    screenshot(page, "consent-form", tmp_path)
    page.get_by_role("button", name="Record and give a receipt").click()
    expect(page.get_by_role("heading", name="What was agreed")).to_be_visible()
    expect(page.get_by_role("link", name="PDF")).to_be_visible()
    accessible(page)
    screenshot(page, "consent-receipt", tmp_path)

    page.goto(family_url)
    expect(page.get_by_text("Northfield Academy")).to_be_visible()
    expect(page.get_by_text("Early help team, north locality")).to_be_visible()
    expect(page.get_by_text("Community mental health team")).to_have_count(0)
    expect(page.get_by_text("needs consent for health data").first).to_be_visible()
    accessible(page)
    screenshot(page, "family-page-consent", tmp_path)

    # 2. an override for health, proposed by the key worker ...
    page.get_by_role("button", name="Propose an override").click()
    page.get_by_role("radio", name=parent.pid).check()
    page.get_by_role("checkbox", name="Health", exact=True).check()
    page.get_by_role("checkbox", name="Northfield NHS Trust").check()
    page.get_by_label("Why is sharing without consent necessary").fill(
        "A child in the family is at risk of serious harm; asking would alert the person."
    )
    accessible(page)
    screenshot(page, "override-form", tmp_path)
    page.get_by_role("button", name="Propose override").click()
    expect(page.get_by_text("is proposed")).to_be_visible()
    expect(page.get_by_text("Community mental health team")).to_have_count(0)
    override = Override.objects.get()
    short = str(override.override_id)[:8]

    # ... approved by a team manager, in another browser
    manager_context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    manager_page = manager_context.new_page()
    sign_in(manager_page, base, manager.username)
    manager_page.get_by_role("link", name="Overrides").click()
    accessible(manager_page)
    screenshot(manager_page, "overrides-register", tmp_path)
    manager_page.get_by_role("link", name=short).click()
    manager_page.get_by_label("Approve").check()
    accessible(manager_page)
    screenshot(manager_page, "override-approval", tmp_path)
    manager_page.get_by_role("button", name="Record decision").click()
    expect(manager_page.get_by_text(f"Override {short} is approved")).to_be_visible()
    manager_context.close()

    page.goto(family_url)
    expect(page.get_by_text("Community mental health team")).to_be_visible()
    expect(page.get_by_text(f"Shown under override {short}")).to_be_visible()
    accessible(page)
    screenshot(page, "family-page-override", tmp_path)

    # 3. ending the override hides health again; withdrawing consent hides education again
    page.get_by_role("button", name=f"End override {short}").click()
    expect(page.get_by_text("has ended")).to_be_visible()
    expect(page.get_by_text("Community mental health team")).to_have_count(0)
    page.get_by_role("link", name="Withdraw consent for Education attendance and behaviour").click()
    accessible(page)
    page.get_by_role("button", name="Withdraw consent").click()
    expect(page.get_by_text("is withdrawn")).to_be_visible()
    expect(page.get_by_text("Northfield Academy")).to_have_count(0)
    expect(page.get_by_text("Early help team, north locality")).to_be_visible()
    expect(page.get_by_text("needs consent for education data").first).to_be_visible()

    # every view, and every withholding, is in the log with its basis and policy
    education = "record:northfield-schools:education"
    health = "record:northfield-nhs-trust:health"
    seen = AuditEntry.objects.filter(resource=education, event="record:detail:viewed")
    assert seen.exists()
    assert all(e.basis.startswith("consent:") for e in seen)
    health_views = AuditEntry.objects.filter(resource=health, event="record:detail:viewed")
    assert [e.basis for e in health_views] == [f"override:{override.override_id}"]
    assert health_views.get().details["policies"] == [
        "northfield-supporting-families@v2/safeguarding/2"
    ]
    last_health = AuditEntry.objects.filter(resource=health).order_by("-seq").first()
    assert last_health is not None
    assert last_health.decision == "deny"
    last_education = AuditEntry.objects.filter(resource=education).order_by("-seq").first()
    assert last_education is not None
    assert last_education.decision == "deny"
    assert last_education.reason == "needs consent for education data"
    for event in (
        "family:consent:given",
        "override:proposed",
        "override:approved",
        "override:revoked",
        "family:consent:withdrawn",
    ):
        assert AuditEntry.objects.filter(event=event).exists(), event


def test_the_public_agreement_page_shows_the_enforced_policy_and_versions(
    page: Page, live_server: object, agreements: None, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    page.goto(f"{base}/transparency/agreements/northfield-supporting-families/")
    expect(page.get_by_role("heading", name="The policy that enforces it")).to_be_visible()
    page.get_by_text("northfield-supporting-families@v2/service-coordination/3", exact=True).click()
    expect(page.locator("details[open] code")).to_contain_text('Kinfold::Category::"health"')
    expect(page.get_by_role("link", name="Version 1")).to_be_visible()
    accessible(page)
    screenshot(page, "agreement-policy-page", tmp_path)
    page.get_by_role("link", name="kinfold's own rules").first.click()
    expect(page.get_by_role("heading", name="kinfold's own rules")).to_be_visible()
    accessible(page)
    screenshot(page, "house-rules-page", tmp_path)
