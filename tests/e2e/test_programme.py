"""One family, identified to claimed, as the roles who do each step — in a real browser.

The analyst runs a quarter's identification from the web; the team manager allocates the family;
its key worker releases its contact details by contacting it, records its consent, agrees the
plan and reviews progress computed from partners' flags; the manager confirms the outcome is
sustained; the analyst prepares the claims; the manager signs them off; the analyst downloads the
ministry's claims file. Every page passes axe-core.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kinfold.agreements.models import Organisation
from kinfold.people import vault
from kinfold.programme.models import ClaimStatus, Journey, State
from kinfold.staff.models import User
from tests.e2e.conftest import axe_violations, describe, screenshot
from tests.e2e.test_key_worker import sign_in
from tests.programme.conftest import THROUGH_2016Q3, Borough


def accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


@pytest.fixture
def as_role(browser: Browser, live_server: object) -> Iterator[object]:
    """A signed-in page for a user, each in its own browser context."""
    contexts = []

    def open_as(user: User) -> Page:
        context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        sign_in(page, str(live_server.url), user.username)  # type: ignore[attr-defined]
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_a_family_from_identified_to_claimed(
    as_role: object,
    live_server: object,
    analyst: User,
    manager: User,
    key_worker: User,
    settings: object,
    tmp_path: Path,
) -> None:
    from kinfold.programme.identification import identify

    settings.KINFOLD_JOBS = "inline"  # type: ignore[attr-defined]
    base = str(live_server.url)  # type: ignore[attr-defined]
    borough = Borough()
    (mum,), (kid,) = borough.family("H1", THROUGH_2016Q3)
    vault.store(
        mum,
        Organisation.objects.get(slug="northfield-council"),
        "e2e-mum",
        "2015Q2",
        {"given_name": "Robin", "surname": "Example", "phone": "01632 960999"},
    )
    borough.flag(mum, "police.asb_incident", "2015Q3")
    borough.flag(kid, "school.attendance", "2015Q4", 80.0)
    for quarter, value in (("2016Q1", 92.0), ("2016Q2", 95.0), ("2016Q3", 93.0)):
        borough.flag(kid, "school.attendance", quarter, value)
    # A namesake's offence linked to the eight-year-old: left out, and the run page says so.
    borough.flag(kid, "police.offence", "2016Q3")
    for quarter in THROUGH_2016Q3[:-1]:
        identify(quarter)
    fid = Journey.objects.get().family.fid
    open_as = as_role  # type: ignore[assignment]

    # The analyst identifies the latest quarter from the web page.
    analyst_page = open_as(analyst)  # type: ignore[operator]
    analyst_page.get_by_role("link", name="Identification").click()
    analyst_page.get_by_label("Quarter").fill("2016Q3")
    accessible(analyst_page)
    analyst_page.get_by_role("button", name="Run identification").click()
    expect(analyst_page.get_by_role("heading", name="2016Q3: finished")).to_be_visible()
    expect(analyst_page.locator("#count-outside-ages")).to_contain_text("1, on people too young")
    accessible(analyst_page)
    screenshot(analyst_page, "programme-identification-run", tmp_path)

    # The team manager allocates the family to its key worker.
    manager_page = open_as(manager)  # type: ignore[operator]
    manager_page.goto(f"{base}/programme/families/?state=identified")
    accessible(manager_page)
    manager_page.get_by_role("link", name=fid).click()
    expect(manager_page.locator("#journey-state")).to_have_text("Identified")
    manager_page.select_option("#id_key_worker", label=key_worker.display_name)
    manager_page.get_by_role("button", name="Allocate to a key worker").click()
    expect(manager_page.locator("#journey-state")).to_have_text("Allocated to a key worker")

    # The key worker contacts the family: only now are its contact details released.
    worker = open_as(key_worker)  # type: ignore[operator]
    worker.goto(f"{base}/families/{fid}/")
    expect(worker.get_by_text("Robin Example")).to_have_count(0)
    worker.goto(f"{base}/programme/families/{fid}/")
    worker.get_by_role("button", name="Release contact details to contact the family").click()
    expect(worker.locator("#journey-state")).to_have_text("Contacted")
    worker.goto(f"{base}/families/{fid}/")
    expect(worker.get_by_role("cell", name="Robin Example").first).to_be_visible()

    # ... records the family's consent on the family page, then works the journey.
    worker.get_by_role("button", name="Record consent").click()
    worker.get_by_role("radio", name=mum.pid).check()
    worker.get_by_role("checkbox", name="Education attendance and behaviour").check()
    worker.get_by_role("button", name="Record and give a receipt").click()
    expect(worker.get_by_role("heading", name="What was agreed")).to_be_visible()
    worker.goto(f"{base}/programme/families/{fid}/")
    worker.get_by_role("button", name="The family agreed to work with us").click()
    expect(worker.locator("#journey-state")).to_have_text("Engaged (consent recorded)")
    worker.get_by_role("button", name="Agree the family plan").click()
    expect(worker.locator("#plan")).to_contain_text("Children who have not been attending school")
    worker.get_by_role("button", name="Review this quarter's progress").click()
    expect(worker.locator("#journey-state")).to_have_text("Progress reviewed")
    expect(worker.locator("#journey-outcome")).to_contain_text("recognised in 2016Q3")
    worker.get_by_role("button", name="Record that the outcomes are achieved").click()
    expect(worker.locator("#journey-state")).to_have_text("Outcomes achieved")
    accessible(worker)
    screenshot(worker, "programme-journey", tmp_path)

    # The manager confirms the outcome is sustained.
    manager_page.reload()
    manager_page.get_by_role("button", name="Confirm the outcomes are sustained").click()
    expect(manager_page.locator("#journey-state")).to_have_text("Outcomes sustained")

    # The analyst prepares the quarter's claims: the journey is claimed.
    analyst_page.goto(f"{base}/programme/claims/?quarter=2016Q3")
    analyst_page.get_by_role("button", name="Prepare claims for 2016Q3").click()
    expect(analyst_page.locator("#claims")).to_contain_text("Results payment")
    accessible(analyst_page)
    assert Journey.objects.get().state == State.CLAIMED

    # The manager signs each claim off; its evidence is frozen.
    manager_page.goto(f"{base}/programme/claims/?quarter=2016Q3")
    for link in manager_page.locator("#claims a").all_inner_texts():
        manager_page.goto(f"{base}/programme/claims/{link}/")
        manager_page.get_by_role("button", name="Sign off this claim").click()
        expect(manager_page.locator("#claim-status")).to_have_text("Signed off")
    accessible(manager_page)
    screenshot(manager_page, "programme-claim", tmp_path)

    # The analyst downloads the ministry's claims file.
    analyst_page.goto(f"{base}/programme/claims/?quarter=2016Q3")
    with analyst_page.expect_download() as download:
        analyst_page.get_by_role("button", name="Download the claims file for the ministry").click()
    text = Path(download.value.path()).read_text()
    assert fid in text
    assert "Robin" not in text
    from kinfold.programme.models import Claim

    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.SUBMITTED}

    # The dashboard shows it, with small numbers suppressed.
    manager_page.goto(f"{base}/programme/")
    expect(manager_page.get_by_role("heading", name="Programme dashboard")).to_be_visible()
    expect(manager_page.get_by_text("<5").first).to_be_visible()
    accessible(manager_page)
    screenshot(manager_page, "programme-dashboard", tmp_path)
