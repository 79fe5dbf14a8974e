"""`kinfold portal add-account|close-account`."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kinfold.people.models import Person
from kinfold.portal.models import PortalAccount
from kinfold.staff.models import User
from tests.portal.conftest import PARENT_EMAIL

pytestmark = pytest.mark.django_db


def test_add_and_close_an_account(
    parent: Person, key_worker: User, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command(
        "portal", "add-account", parent.pid, "--email", PARENT_EMAIL, "--by", key_worker.username
    )
    assert "can now sign in to the portal by email" in capsys.readouterr().out
    call_command("portal", "close-account", parent.pid, "--by", key_worker.username)
    assert PortalAccount.objects.get(person=parent).closed_at is not None


def test_user_mistakes_are_one_line_errors(parent: Person, key_worker: User) -> None:
    with pytest.raises(CommandError, match="no active member of staff"):
        call_command("portal", "add-account", parent.pid, "--email", PARENT_EMAIL, "--by", "nobody")
    with pytest.raises(CommandError, match="not one we hold"):
        call_command(
            "portal",
            "add-account",
            parent.pid,
            "--email",
            "x@example.org",
            "--by",
            key_worker.username,
        )
