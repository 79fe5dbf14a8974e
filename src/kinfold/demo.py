"""The demo: a working kinfold on synthetic data, built once and reused.

`kinfold demo` migrates the database, loads the agreements, creates one sign-in per role, generates
the synthetic demo borough and runs each of its quarters through ingest and identification,
allocates a few families and opens a portal account for one family member, then serves. Every step checks what exists first, so a
second run reuses everything and duplicates nothing.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from kinfold.agreements.models import Organisation
from kinfold.agreements.services import load_folder
from kinfold.audit.actors import Actor
from kinfold.staff.models import Role, User
from kinfold.synth import Preset


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


#: The demo borough: big enough for about 40 eligible families a quarter and three years of
#: history (synth's own quick ``demo`` preset, 6,000 residents, gives fewer than ten), small
#: enough to build in under a minute.
DEMO_BOROUGH = Preset(residents=20_000, quarters=12)


def borough_dir() -> Path:
    """Where the demo's synthetic borough (partner extracts and their ground truth) is kept."""
    return Path(settings.DATA_DIR) / "demo-borough"


@dataclass(frozen=True)
class QuarterDone:
    quarter: str
    records: int  # partner records taken in this time (0 when the quarter was already in)
    eligible: int
    reused: bool


def ensure_borough(say: Callable[[str], None] = lambda _: None) -> list[QuarterDone]:
    """Generate the demo borough once (``kinfold.synth`` preset ``demo``), then run each of its
    quarters as a council would: ingest the partners' extracts (encoded and linked), then
    identify. A quarter already identified is left as it is, so a second run changes nothing."""
    from kinfold.ingest.services import ingest_quarter
    from kinfold.programme.identification import identify
    from kinfold.programme.models import IdentificationRun, RunStatus
    from kinfold.synth import generate

    folder = borough_dir()
    preset = DEMO_BOROUGH
    if not (folder / "manifest.json").exists():
        say(f"Generating the synthetic demo borough ({preset.describe()})…")
        generate(
            folder,
            residents=preset.residents,
            seed=preset.seed,
            start=preset.start,
            quarters=preset.quarters,
        )
    done = []
    quarters = sorted(p.name for p in (folder / "extracts").iterdir() if p.is_dir())
    for quarter in quarters:
        finished = IdentificationRun.objects.filter(quarter=quarter, status=RunStatus.DONE)
        run = finished.order_by("-created_at").first()
        if run is not None:
            done.append(QuarterDone(quarter, 0, int(run.counts.get("eligible", 0)), True))
            continue
        report = ingest_quarter(folder / "extracts" / quarter, quarter, system_actor("demo"))
        run = identify(quarter)
        records = 0 if report.already_ingested else report.records
        done.append(QuarterDone(quarter, records, int(run.counts.get("eligible", 0)), False))
        say(
            f"  {quarter}: {records:,} partner records in, "
            f"{run.counts.get('eligible', 0):,} families eligible"
        )
    return done


#: How many identified families the demo allocates to each demo key worker.
DEMO_ALLOCATIONS = {"amara.keyworker": 4, "tom.keyworker": 2}


def ensure_allocations() -> int:
    """Allocate a few identified families to the demo key workers (by the demo team manager, as
    in real life), and record that the first has been contacted, so signing in shows families at
    different steps. Does nothing once any family is allocated; returns how many were."""
    from kinfold.programme import journey
    from kinfold.programme.models import Journey
    from kinfold.staff.models import Assignment

    if Assignment.objects.exists():
        return 0
    manager = User.objects.get(username="jo.manager")
    waiting = list(
        Journey.objects.filter(state="identified")
        .select_related("family")
        .order_by("identified_quarter", "family__fid")[: sum(DEMO_ALLOCATIONS.values())]
    )
    allocated = 0
    for username, count in DEMO_ALLOCATIONS.items():
        worker = User.objects.get(username=username)
        for item in waiting[allocated : allocated + count]:
            journey.allocate(manager, item, worker)
        allocated += len(waiting[allocated : allocated + count])
    if waiting:
        first = Journey.objects.get(pk=waiting[0].pk)
        journey.contact(User.objects.get(username="amara.keyworker"), first)
    return allocated
