"""Signing in and out leaves audit entries, as does every failed attempt."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from kinfold.audit import privacy
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.staff.models import User


def _actor(user: User) -> Actor:
    return Actor(kind="user", id=user.username, role=user.role, organisation=user.organisation_slug)


@receiver(user_logged_in)
def signed_in(sender: type, request: HttpRequest, user: User, **kwargs: Any) -> None:
    audit.record(_actor(user), Event.USER_SIGNED_IN, resource="session")


@receiver(user_logged_out)
def signed_out(sender: type, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit.record(_actor(user), Event.USER_SIGNED_OUT, resource="session")


@receiver(user_login_failed)
def sign_in_failed(
    sender: type, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    attempted = str(credentials.get("username") or "").strip()[:150] or "(blank)"
    if privacy.looks_personal(attempted) or not attempted.isprintable():
        attempted = "(not recorded: looked like personal data)"
    audit.record(
        Actor(kind="user", id=attempted),
        Event.USER_SIGN_IN_FAILED,
        resource="session",
        decision="deny",
        reason="wrong username or password",
    )
