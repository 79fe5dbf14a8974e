"""Watching the watchers: each kind of unusual access is found, with the entries behind it."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from kinfold.access import services as access
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.errors import NotPermitted
from kinfold.people import services as people
from kinfold.people.models import Family
from kinfold.rights import oversight
from kinfold.staff.models import User
from tests.factories import add_member

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
#: A Wednesday: the tests below read at fixed times of a working week and ask for findings as of
#: then, so that the day of the week and the hour the suite runs at change nothing (run on a
#: Monday, "yesterday" was a Sunday, all out of hours; before 10:00, "today at 10:00" was still
#: to come).
WEDNESDAY = datetime(2026, 11, 18, tzinfo=LONDON)


def kinds(found: list[oversight.Finding]) -> list[str]:
    return [f.kind for f in found]


def test_a_key_worker_reading_a_family_not_theirs_is_found(
    key_worker: User, other_key_worker: User, family: Family
) -> None:
    access.family_view(key_worker, family.fid, "service-coordination")  # assigned: not a finding
    with pytest.raises(NotPermitted):
        access.family_view(other_key_worker, family.fid, "service-coordination")
    found = [f for f in oversight.findings() if f.kind == "not-assigned"]
    assert len(found) == 1
    assert found[0].actor == other_key_worker.username
    assert family.fid in found[0].title
    assert "1 refused" in found[0].summary
    assert found[0].entries
    assert found[0].link == f"/audit/?actor={other_key_worker.username}&subject={family.fid}"


def test_a_manager_seeing_flags_by_role_is_not_a_finding(manager: User, family: Family) -> None:
    access.family_view(manager, family.fid, "identification")
    assert "not-assigned" not in kinds(oversight.findings())


def _reads_at(moment: datetime, actor: Actor, subjects: list[str]) -> None:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        for subject in subjects:
            audit.record(actor, Event.FAMILY_FLAGS_VIEWED, subjects=[subject], decision="allow")


def test_out_of_hours_bulk_reads_are_found(agreements: None) -> None:
    analyst = Actor(kind="user", id="an.sam", role="analyst", organisation="northfield-council")
    night = WEDNESDAY.replace(hour=22, minute=5)
    _reads_at(night, analyst, [f"F7BULK{n:06d}" for n in range(oversight.BULK_MINIMUM)])
    day = night.replace(hour=11)
    _reads_at(day, analyst, [f"F7DAYS{n:06d}" for n in range(oversight.BULK_MINIMUM * 2)])
    found = [
        f for f in oversight.findings(now=night + timedelta(days=1)) if f.kind == "out-of-hours"
    ]
    assert len(found) == 1
    assert len(found[0].entries) == oversight.BULK_MINIMUM


def test_a_spike_against_the_readers_own_baseline_is_found(agreements: None) -> None:
    analyst = Actor(kind="user", id="an.sam", role="analyst", organisation="northfield-council")
    today = WEDNESDAY.replace(hour=10)
    for days_ago in range(1, 15):
        _reads_at(today - timedelta(days=days_ago), analyst, ["F7USUAL00001"] * 5)
    _reads_at(today, analyst, ["F7SPIKE00001"] * oversight.SPIKE_MINIMUM)
    found = [
        f for f in oversight.findings(days=1, now=today + timedelta(hours=2)) if f.kind == "spike"
    ]
    assert len(found) == 1
    assert "30 records" in found[0].title


def test_a_steady_reader_is_not_a_spike(agreements: None) -> None:
    analyst = Actor(kind="user", id="an.sam", role="analyst", organisation="northfield-council")
    today = WEDNESDAY.replace(hour=10)
    for days_ago in range(10):
        _reads_at(today - timedelta(days=days_ago), analyst, ["F7USUAL00001"] * 20)
    assert "spike" not in kinds(oversight.findings(days=1, now=today + timedelta(hours=2)))


def test_overrides_near_expiry_are_found_in_the_log(agreements: None) -> None:
    from django.apps import apps

    if any(m.__name__ == "Override" for m in apps.get_app_config("consent").get_models()):
        pytest.skip("the consent part's override model is read instead of the log")
    manager = Actor(kind="user", id="mgr.jo", role="team_manager")
    soon = (timezone.now() + timedelta(days=3)).isoformat()
    later = (timezone.now() + timedelta(days=30)).isoformat()
    audit.record(
        manager, Event.OVERRIDE_APPROVED, resource="override:O1", details={"valid_until": soon}
    )
    audit.record(
        manager, Event.OVERRIDE_APPROVED, resource="override:O2", details={"valid_until": later}
    )
    found = [f for f in oversight.findings() if f.kind == "override-expiring"]
    assert [f.title.split()[1] for f in found] == ["override:O1"]
    audit.record(manager, Event.OVERRIDE_REVOKED, resource="override:O1")
    assert "override-expiring" not in kinds(oversight.findings())


def test_the_dpo_page_lists_findings(
    dpo_client: Client, other_key_worker: User, family: Family, key_worker_client: Client
) -> None:
    other = people.create_family("F7NOTYOURSXX")
    add_member(other, "adult")
    key_worker_client.get(f"/families/{other.fid}/")
    page = dpo_client.get("/dpo/unusual-access/").content.decode()
    assert "F7NOTYOURSXX, not assigned to them" in page
    assert key_worker_client.get("/dpo/unusual-access/").status_code == 403
