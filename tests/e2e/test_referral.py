"""A referral in a browser: consent to the partner, the key worker sends only what it allows, the
partner's practitioner sees the referral (and nothing else of the family) and answers it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from kinfold.consent.models import Referral
from kinfold.people.models import Family, FamilyMember
from kinfold.staff.models import User
from tests.e2e.conftest import axe_violations, describe, screenshot
from tests.e2e.test_consent_and_override import sign_in
from tests.factories import add_record


def test_a_referral_reaches_only_its_partner(
    page: Page,
    browser: Browser,
    live_server: object,
    key_worker: User,
    da_practitioner: User,
    family: Family,
    tmp_path: Path,
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    parent = FamilyMember.objects.get(family=family, role="adult").person
    add_record(parent, "northfield-police", "violence-in-the-home", "police.domestic_incident")

    sign_in(page, base, key_worker.username)
    page.goto(f"{base}/families/{family.fid}/consent/new/")
    page.get_by_role("radio", name=parent.pid).check()
    page.get_by_role("radio", name="Northfield Domestic Abuse Service, in a referral").check()
    page.get_by_role("checkbox", name="Violence in the home").check()
    page.get_by_role("button", name="Record and give a receipt").click()
    expect(page.get_by_role("heading", name="What was agreed")).to_be_visible()

    page.goto(f"{base}/families/{family.fid}/")
    page.get_by_role("button", name="Make a referral").click()
    expect(page.get_by_role("heading", name="Who are you referring to?")).to_be_visible()
    assert axe_violations(page) == [], describe(axe_violations(page))
    page.locator("a[href*='to=northfield-da-service&purpose=service-coordination']").click()
    page.get_by_role(
        "checkbox", name=f"{parent.pid} (adult in the household): Violence in the home"
    ).check()
    page.get_by_label("What are you asking them to do?").fill(
        "Please offer support; the key worker can arrange a joint visit."
    )
    assert axe_violations(page) == [], describe(axe_violations(page))
    screenshot(page, "referral-form", tmp_path)
    page.get_by_role("button", name="Send referral").click()
    expect(
        page.get_by_text("The referral to Northfield Domestic Abuse Service is sent.")
    ).to_be_visible()
    referral = Referral.objects.get()

    partner_context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    partner = partner_context.new_page()
    sign_in(partner, base, da_practitioner.username)
    expect(
        partner.get_by_role("heading", name="Referrals to Northfield Domestic Abuse Service")
    ).to_be_visible()
    partner.get_by_role("link", name=f"Referral {str(referral.referral_id)[:8]}").click()
    expect(partner.get_by_text("Domestic incident attended by police")).to_be_visible()
    expect(partner.get_by_text("Please offer support")).to_be_visible()
    expect(partner.get_by_text(family.fid)).to_have_count(0)
    expect(partner.get_by_text("Robin")).to_have_count(0)
    assert axe_violations(partner) == [], describe(axe_violations(partner))
    screenshot(partner, "referral-partner-view", tmp_path)
    partner.get_by_role("radio", name="Accept").check()
    partner.get_by_role("button", name="Send answer").click()
    expect(partner.get_by_text("The referral is accepted.")).to_be_visible()
    partner.goto(f"{base}/families/{family.fid}/")
    expect(partner.get_by_role("heading", name="You cannot see this page")).to_be_visible()
    partner_context.close()
    referral.refresh_from_db()
    assert referral.state == "accepted"
