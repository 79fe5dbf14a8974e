"""Fixtures for the family portal: a file outbox per test, and a parent's portal account."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from kinfold.people.models import Family, FamilyMember, Person
from kinfold.portal import services
from kinfold.portal.models import PortalAccount
from kinfold.staff.models import User

PARENT_EMAIL = "robin.example@example.org"  # what tests.factories.add_member puts in the vault


@pytest.fixture(autouse=True)
def outbox(settings: object, tmp_path: Path) -> Path:
    folder = tmp_path / "outbox"
    settings.KINFOLD_PORTAL_NOTIFIER = "file"  # type: ignore[attr-defined]
    settings.KINFOLD_PORTAL_OUTBOX = str(folder)  # type: ignore[attr-defined]
    return folder


def member(family: Family, role: str) -> Person:
    return FamilyMember.objects.filter(family=family, role=role).select_related("person")[0].person


@pytest.fixture
def parent(family: Family) -> Person:
    return member(family, "adult")


@pytest.fixture
def child(family: Family) -> Person:
    return member(family, "child")


@pytest.fixture
def account(parent: Person, key_worker: User) -> PortalAccount:
    return services.register_account(key_worker, parent.pid, "email", PARENT_EMAIL)


def sign_in(client: Client, contact: str = PARENT_EMAIL) -> None:
    """Ask for a code, read it from the outbox, enter it."""
    response = client.post("/portal/sign-in/", {"contact": contact})
    assert response.status_code == 302
    code = services.latest_code_in_outbox()
    assert len(code) == 6
    response = client.post("/portal/sign-in/code/", {"code": code})
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/portal/home/"


@pytest.fixture
def portal_client(account: PortalAccount) -> Client:
    client = Client()
    sign_in(client)
    return client
