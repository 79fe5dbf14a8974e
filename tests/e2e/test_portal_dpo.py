"""The DPO's rights pages in a browser: open a subject access request, see unusual access; axe."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kinfold.access import services as access
from kinfold.errors import NotPermitted
from kinfold.people.models import Family
from kinfold.staff.models import User
from tests.e2e.conftest import axe_violations, describe, screenshot
from tests.e2e.test_key_worker import sign_in


def accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_the_dpo_opens_a_subject_access_request(
    page: Page,
    live_server: object,
    dpo: User,
    other_key_worker: User,
    family: Family,
    tmp_path: Path,
) -> None:
    with pytest.raises(NotPermitted):  # refused, and the oversight page should find it
        access.family_view(other_key_worker, family.fid, "service-coordination")
    base = str(live_server.url)  # type: ignore[attr-defined]
    sign_in(page, base, dpo.username)
    page.goto(f"{base}/dpo/")
    expect(page.get_by_role("heading", name="Rights and oversight")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="Open a subject access request").click()
    page.get_by_label("Last name").fill("Example")
    page.get_by_label("Date of birth (YYYY-MM-DD)").fill("2008-02-02")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="1 found")).to_be_visible()
    accessible(page)
    page.get_by_label("How did you check who is asking?").fill("birth certificate seen")
    page.get_by_role("button", name="Open request").click()
    expect(page.get_by_text("Due by", exact=True)).to_be_visible()
    accessible(page)
    screenshot(page, "dpo-subject-access", tmp_path)
    page.get_by_role("link", name="Readable copy (print it to PDF)").click()
    expect(page.get_by_role("heading", name="The information we hold about you")).to_be_visible()
    expect(page.get_by_text("Northfield Academy")).to_be_visible()

    page.goto(f"{base}/dpo/unusual-access/")
    expect(
        page.get_by_role("heading", name=f"kw.tom read family {family.fid}, not assigned to them")
    ).to_be_visible()
    accessible(page)
    screenshot(page, "dpo-unusual-access", tmp_path)
