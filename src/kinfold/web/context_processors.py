"""Template context shared by every page: names, and the navigation a role needs."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    text: str
    href: str
    active: bool


#: The pages each role works in, in the order they appear in the navigation.
ROLE_PAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "key_worker": (("Your families", "web:families"), ("Programme", "programme:families")),
    "team_manager": (
        ("Families", "web:families"),
        ("Programme", "programme:dashboard"),
        ("Journeys", "programme:families"),
        ("Claims", "programme:claims"),
        ("Overrides", "web:overrides"),
    ),
    "analyst": (
        ("Families", "web:families"),
        ("Programme", "programme:dashboard"),
        ("Identification", "programme:runs"),
        ("Claims", "programme:claims"),
    ),
    "partner_practitioner": (("Referrals", "web:referrals"),),
    "dpo": (
        ("Audit log", "web:audit-log"),
        ("Overrides", "web:overrides"),
        ("Rights and oversight", "rights:home"),
        ("Claim spot checks", "programme:samples"),
    ),
    "admin": (("Staff", "web:staff"),),
}


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    pages: tuple[tuple[str, str], ...] = ()
    if user is not None and user.is_authenticated:
        pages = ROLE_PAGES.get(user.role, ())
    items = [(text, reverse(name)) for text, name in pages]
    items.append(("Transparency", reverse("web:transparency")))
    if user is not None and user.is_authenticated:
        items.append(("Sign out", reverse("web:sign-out-confirm")))
    else:
        items.append(("Staff sign in", reverse("web:sign-in")))
    return {
        "service_name": settings.KINFOLD_SERVICE_NAME,
        "council_name": settings.KINFOLD_COUNCIL_NAME,
        "demo_mode": settings.ENV == "demo",
        "navigation_items": [
            NavItem(text, href, request.path.startswith(href) and href != "/")
            for text, href in items
        ],
    }
