"""The demo: a working kinfold on synthetic data, built once and reused.

`kinfold demo` migrates the database, loads the agreements, creates one sign-in per role, builds
the demo borough and runs its quarter, then serves. Every step checks what exists first, so a
second run reuses everything and duplicates nothing.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from kinfold.agreements.models import Organisation
from kinfold.agreements.services import load_folder
from kinfold.audit.actors import Actor
from kinfold.staff.models import Role, User


@dataclass(frozen=True)
class DemoSignIn:
    role: str
    username: str
    password: str
    organisation: str


#: One sign-in per role: (role, username, first name, last name, organisation slug).
DEMO_STAFF = (
    (Role.KEY_WORKER, "amara.keyworker", "Amara", "Osei", "northfield-council"),
    (Role.KEY_WORKER, "tom.keyworker", "Tom", "Kowalski", "northfield-council"),
    (Role.TEAM_MANAGER, "jo.manager", "Jo", "Hughes", "northfield-council"),
    (Role.ANALYST, "sam.analyst", "Sam", "Patel", "northfield-council"),
    (Role.DPO, "priya.dpo", "Priya", "Nair", "northfield-council"),
    (Role.PARTNER_PRACTITIONER, "lee.police", "Lee", "Adeyemi", "northfield-police"),
    (Role.ADMIN, "alex.admin", "Alex", "Morgan", "northfield-council"),
)


def system_actor(job: str) -> Actor:
    return Actor.system(job, uuid.uuid4().hex[:12])


def sign_ins_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-sign-ins.txt"


def ensure_database() -> None:
    Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)


def ensure_agreements() -> None:
    load_folder(system_actor("demo"))


def ensure_staff() -> list[DemoSignIn]:
    """Create the demo's staff once; their passwords are kept beside the demo database."""
    known = _read_sign_ins()
    sign_ins = []
    with transaction.atomic():
        for role, username, first, last, org in DEMO_STAFF:
            password = known.get(username) or secrets.token_urlsafe(12)
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "role": role,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.org",
                    "organisation": Organisation.objects.get(slug=org),
                },
            )
            if created or username not in known:
                user.set_password(password)
                user.save()
            sign_ins.append(DemoSignIn(role.label, username, password, user.organisation.name))
    _write_sign_ins(sign_ins)
    return sign_ins


def _read_sign_ins() -> dict[str, str]:
    path = sign_ins_file()
    if not path.exists():
        return {}
    pairs = (
        line.split()[:2]
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    )
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def _write_sign_ins(sign_ins: list[DemoSignIn]) -> None:
    path = sign_ins_file()
    lines = ["# kinfold demo sign-ins: username password (role). Synthetic demo only."]
    lines += [f"{s.username} {s.password} ({s.role})" for s in sign_ins]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def ensure_borough() -> int:
    """Build the demo borough once; returns the number of families made this time."""
    from kinfold import demo_fixture

    return demo_fixture.build()


def ensure_allocations(sign_ins: list[DemoSignIn]) -> None:
    """Give the demo key worker some families, so signing in shows something."""
    from kinfold.people.models import Family
    from kinfold.staff.models import Assignment
    from kinfold.staff.services import allocate

    if Assignment.objects.exists():
        return
    manager = User.objects.get(username="jo.manager")
    workers = [
        User.objects.get(username="amara.keyworker"),
        User.objects.get(username="tom.keyworker"),
    ]
    families = list(Family.objects.order_by("id")[:4])
    for i, family in enumerate(families[:3]):
        allocate(manager, family.fid, workers[0] if i < 2 else workers[1])
