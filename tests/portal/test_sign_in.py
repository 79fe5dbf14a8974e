"""Signing in to the portal with a one-time code: single use, expiring, rate-limited, no
enumeration, and a session of its own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from kinfold.audit.models import AuditEntry
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.people.models import Family, Person
from kinfold.portal import services
from kinfold.portal.models import PortalAccount, SignInCode
from kinfold.staff.models import User
from tests.portal.conftest import PARENT_EMAIL, sign_in

pytestmark = pytest.mark.django_db


def test_a_family_member_signs_in_with_the_code_sent_to_them(
    account: PortalAccount, outbox: Path
) -> None:
    client = Client()
    sign_in(client)
    assert client.get("/portal/home/").status_code == 200
    message = next(outbox.glob("*.txt")).read_text()
    assert f"To: {PARENT_EMAIL}" in message
    signed = AuditEntry.objects.filter(event="family:portal:signed-in").get()
    assert signed.actor_kind == "family"
    assert signed.actor_id == account.person.pid


def test_codes_are_stored_hashed_and_work_once(account: PortalAccount) -> None:
    client = Client()
    sign_in(client)
    code = services.latest_code_in_outbox()
    stored = SignInCode.objects.get()
    assert code not in stored.code_hash
    assert stored.used_at is not None
    again = Client()
    again.post("/portal/sign-in/", {"contact": "nobody@example.org"})
    response = again.post("/portal/sign-in/code/", {"code": code})
    assert response.status_code == 200
    assert "The code is not right, or it has expired" in response.content.decode()


def test_an_expired_code_does_not_work(account: PortalAccount) -> None:
    pending = services.start_sign_in(PARENT_EMAIL, "192.0.2.1")
    code = services.latest_code_in_outbox()
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.SignInFailed):
        services.verify_code(pending, code, "192.0.2.1")


def test_five_wrong_tries_use_up_a_code(account: PortalAccount) -> None:
    pending = services.start_sign_in(PARENT_EMAIL, "192.0.2.1")
    code = services.latest_code_in_outbox()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(services.MAX_CODE_ATTEMPTS):
        with pytest.raises(services.SignInFailed):
            services.verify_code(pending, wrong, "192.0.2.1")
    with pytest.raises(services.SignInFailed):
        services.verify_code(pending, code, "192.0.2.1")
    failures = AuditEntry.objects.filter(event="family:portal:sign-in-failed", decision="deny")
    assert failures.count() == services.MAX_CODE_ATTEMPTS + 1


def test_the_answer_is_the_same_for_an_unknown_address(
    account: PortalAccount, outbox: Path
) -> None:
    known, unknown = Client(), Client()
    a = known.post("/portal/sign-in/", {"contact": PARENT_EMAIL})
    b = unknown.post("/portal/sign-in/", {"contact": "stranger@example.org"})
    assert (a.status_code, a["Location"]) == (b.status_code, b["Location"])
    page_a = known.get(a["Location"]).content.decode()
    page_b = unknown.get(b["Location"]).content.decode()
    strip = lambda page: page.split('name="csrfmiddlewaretoken"')[0]  # noqa: E731
    assert strip(page_a) == strip(page_b)
    assert len(list(outbox.glob("*.txt"))) == 1  # only the known address got a code


def test_codes_per_account_are_limited(account: PortalAccount, outbox: Path) -> None:
    for n in range(services.CODES_PER_ACCOUNT + 2):
        services.start_sign_in(PARENT_EMAIL, f"192.0.2.{n}")
    assert len(list(outbox.glob("*.txt"))) == services.CODES_PER_ACCOUNT


def test_attempts_per_ip_address_are_limited(account: PortalAccount) -> None:
    for n in range(services.STARTS_PER_IP):
        services.start_sign_in(f"someone{n}@example.org", "198.51.100.7")
    with pytest.raises(services.RateLimited):
        services.start_sign_in(PARENT_EMAIL, "198.51.100.7")
    page = Client(REMOTE_ADDR="198.51.100.7").post("/portal/sign-in/", {"contact": PARENT_EMAIL})
    assert "Too many codes asked for from here" in page.content.decode()


def test_portal_and_staff_sessions_do_not_mix(
    portal_client: Client, key_worker_client: Client
) -> None:
    assert portal_client.get("/families/")["Location"].startswith("/sign-in/")
    assert key_worker_client.get("/portal/home/")["Location"] == "/portal/sign-in/"


def test_a_closed_account_is_signed_out(
    portal_client: Client, key_worker: User, parent: Person
) -> None:
    services.close_account(key_worker, parent.pid)
    assert portal_client.get("/portal/home/")["Location"] == "/portal/sign-in/"


def test_signing_out_ends_the_portal_session(portal_client: Client) -> None:
    portal_client.post("/portal/sign-out/")
    assert portal_client.get("/portal/home/")["Location"] == "/portal/sign-in/"
    assert AuditEntry.objects.filter(event="family:portal:signed-out").exists()


# ---------------------------------------------------------------------------- registering


def test_the_contact_must_be_one_the_vault_holds(parent: Person, key_worker: User) -> None:
    with pytest.raises(KinfoldError, match="not one we hold"):
        services.register_account(key_worker, parent.pid, "email", "other@example.org")
    with pytest.raises(KinfoldError, match="not one we hold"):
        services.register_account(key_worker, parent.pid, "mobile", "07700 900123")
    with pytest.raises(KinfoldError, match="UK mobile number"):
        services.register_account(key_worker, parent.pid, "mobile", "01632 960999")


def test_only_the_key_worker_or_the_dpo_registers_an_account(
    parent: Person, other_key_worker: User, dpo: User
) -> None:
    with pytest.raises(NotPermitted):
        services.register_account(other_key_worker, parent.pid, "email", PARENT_EMAIL)
    denied = AuditEntry.objects.filter(actor_id=other_key_worker.username, decision="deny")
    assert denied.exists()
    account = services.register_account(dpo, parent.pid, "email", PARENT_EMAIL.upper())
    assert account.created_by == dpo.username
    assert AuditEntry.objects.filter(event="family:portal:account-created").count() == 1


def test_a_young_child_cannot_have_an_account(
    family: Family, child: Person, key_worker: User
) -> None:
    from kinfold.agreements.models import Organisation
    from kinfold.people import vault

    vault.store(
        child,
        Organisation.objects.get(slug="northfield-schools"),
        "x",
        "2016Q1",
        {"given_name": "Sky", "surname": "Example", "email": "sky@example.org"},
    )
    Person.objects.filter(pk=child.pk).update(year_of_birth=timezone.now().year - 9)
    with pytest.raises(KinfoldError, match="at least 13"):
        services.register_account(key_worker, child.pid, "email", "sky@example.org")
    Person.objects.filter(pk=child.pk).update(year_of_birth=timezone.now().year - 14)
    assert services.register_account(key_worker, child.pid, "email", "sky@example.org")


def test_a_failed_delivery_looks_the_same_to_the_family(
    account: PortalAccount, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings.KINFOLD_PORTAL_NOTIFIER = "notify"  # type: ignore[attr-defined]
    settings.KINFOLD_NOTIFY_API_KEY = ""  # type: ignore[attr-defined]
    response = Client().post("/portal/sign-in/", {"contact": PARENT_EMAIL})
    assert response.status_code == 302
    assert response["Location"] == "/portal/sign-in/code/"
    assert "not delivered" in caplog.text
