"""Access decision latency, with the audit write each decision needs.

    python -m benchmarks.access                     # SQLite file, then PostgreSQL if reachable
    python -m benchmarks.access --decisions 5000    # more samples
    python -m benchmarks.access --database-url postgres://postgres@127.0.0.1:5432/bench_access

What is measured, per decision (issue 6's target: median under 1 ms with its audit write):

- engine: Cedar (the compiled agreement and house rules) and the reference reading, no database;
- page: one family page's decisions as `family_view` makes them: the family's facts read once,
  each part decided (Cedar + reading), its audit entry built, and the page's entries appended
  together; the time of the whole page divided by its decisions;
- single: one `access.check` on its own: the facts read for it, decided, and its entry appended
  in its own transaction (what a lone read, such as opening one referral, costs).

Prints a table; figures go in docs/benchmarks.md ("## Access decisions").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/bench_access"
CATEGORIES = {
    "education": "northfield-schools",
    "health": "northfield-nhs-trust",
    "social-care": "northfield-childrens-services",
    "violence-in-the-home": "northfield-da-service",
    "employment": "dwp-northfield",
}


def _setup(database_url: str, folder: Path) -> None:
    os.environ["KINFOLD_ENV"] = "test"  # fixed, obviously-not-secret keys
    os.environ["DJANGO_SETTINGS_MODULE"] = "kinfold.settings"
    os.environ["KINFOLD_DATA_DIR"] = str(folder)
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    if database_url.startswith("postgres"):
        _reset_postgres()
    call_command("migrate", verbosity=0, skip_checks=True)


def _reset_postgres() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")


def _borough() -> tuple[Any, Any, list[Any]]:
    """A key worker, their family of three, a flag and a detail per person and category, and
    consent for half the categories: the family page then shows some details, withholds some."""
    from django.utils import timezone

    from kinfold.agreements.models import DataCategory, Organisation, Purpose
    from kinfold.agreements.services import load_folder
    from kinfold.audit.actors import Actor
    from kinfold.consent.models import ConsentEvent, ConsentRecord
    from kinfold.ingest.models import Bundle, Indicator, PartnerRecord, SealedDetail
    from kinfold.ingest.sealing import seal_detail
    from kinfold.people import keys, services
    from kinfold.people.models import FamilyMember
    from kinfold.staff.models import Assignment, User

    load_folder(Actor.system("bench-access", "setup"))
    council = Organisation.objects.get(slug="northfield-council")
    worker = User.objects.create(username="kw.bench", role="key_worker", organisation=council)
    manager = User.objects.create(username="mgr.bench", role="team_manager", organisation=council)
    family = services.create_family("F7BENCHFAMILY")
    persons = []
    for n in range(3):
        person = services.create_person("2016Q1", year_of_birth=1980 + n * 12)
        FamilyMember.objects.create(
            family=family, person=person, role="adult" if n < 2 else "child", quarter="2016Q1"
        )
        persons.append(person)
    Assignment.objects.create(family=family, key_worker=worker, assigned_by=manager)
    coordination = Purpose.objects.get(slug="service-coordination")
    now = timezone.now()
    for index, (category, provider) in enumerate(CATEGORIES.items()):
        org = Organisation.objects.get(slug=provider)
        cat = DataCategory.objects.get(slug=category)
        bundle = Bundle.objects.create(organisation=org, quarter="2016Q1", sha256=provider)
        for person in persons:
            record = PartnerRecord.objects.create(
                bundle=bundle,
                organisation=org,
                source_ref=f"{provider}-{person.pid}",
                quarter="2016Q1",
                person=person,
            )
            Indicator.objects.create(
                record=record,
                person=person,
                organisation=org,
                category=cat,
                code=f"{category}.flag",
                date=now.date(),
            )
            detail = {"note": f"synthetic {category} detail"}
            SealedDetail.objects.create(
                record=record,
                person=person,
                category=cat,
                sealed=seal_detail(record, category, detail, keys.unwrap(person.data_key)),
            )
            if index % 2 == 0:
                consent = ConsentRecord.objects.create(
                    person=person,
                    family=family,
                    purpose=coordination,
                    organisation=org,
                    recipient=council,
                    category=cat,
                    method="written",
                    notice_version="2026-11",
                    valid_from=now,
                    state="given",
                    recorded_by=worker,
                )
                ConsentEvent.objects.create(record=consent, state="given", at=now, actor="bench")
    return worker, family, persons


def _timed(run: Callable[[], int], repeat: int) -> dict[str, list[float]]:
    """Seconds per decision, one sample per call of `run` (which returns its decision count):
    elapsed time, and this process's CPU time (which a busy shared machine does not inflate;
    on SQLite it is all the work, on PostgreSQL the server's share is not in it)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        count = run()
        wall.append((time.perf_counter() - start) / count)
        cpu.append((time.process_time() - start_cpu) / count)
    return {"wall": wall, "cpu": cpu}


def measure(database_url: str, decisions: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="kinfold-bench-access-"))
    _setup(database_url, folder)
    from django.db import connection

    from kinfold.access import engine, facts
    from kinfold.access import services as access
    from kinfold.access.policy import Action

    worker, family, persons = _borough()
    snapshot = access.policy_snapshot()
    pairs = [(p, c, prov) for p in persons for c, prov in CATEGORIES.items()]

    request = facts.gather(
        worker,
        Action.VIEW_DETAIL,
        "service-coordination",
        family=family,
        person=persons[0],
        provider="northfield-schools",
        category="education",
        rules=snapshot.rules,
    )

    def engine_only() -> int:
        for _ in range(100):
            engine.decide(snapshot, request)
        return 100

    def page() -> int:
        """The decisions `family_view` makes for this family: the family itself, contact details,
        each source's flags, each person's details in each source (the page's facts read once,
        its entries appended together)."""
        known = facts.Known.load(family, referrals=False)
        page_snapshot = access.policy_snapshot()
        batch = access.AuditBatch()
        common = {
            "batch": batch,
            "family": family,
            "snapshot": page_snapshot,
            "assigned": True,
            "known": known,
        }
        access.check(worker, Action.VIEW_FAMILY, "service-coordination", **common)
        access.check(worker, Action.VIEW_CONTACT, "service-coordination", **common)
        for category, provider in CATEGORIES.items():
            access.check(
                worker,
                Action.VIEW_FLAGS,
                "identification",
                provider=provider,
                category=category,
                **common,
            )
        for person, category, provider in pairs:
            access.check(
                worker,
                Action.VIEW_DETAIL,
                "service-coordination",
                person=person,
                provider=provider,
                category=category,
                **common,
            )
        batch.flush()
        return 2 + len(CATEGORIES) + len(pairs)

    def single() -> int:
        person, category, provider = pairs[0]
        access.check(
            worker,
            Action.VIEW_DETAIL,
            "service-coordination",
            family=family,
            person=person,
            provider=provider,
            category=category,
        )
        return 1

    for warm in (engine_only, page, single):
        warm()
    return {
        "database": connection.vendor,
        "engine": _timed(engine_only, max(20, decisions // 100)),
        "page": _timed(page, max(20, decisions // len(pairs))),
        "single": _timed(single, decisions),
        "page_size": 2 + len(CATEGORIES) + len(pairs),
        "policies": len(snapshot.text.split("@id(")) - 1,
    }


def _row(name: str, samples: dict[str, list[float]]) -> str:
    wall, cpu = sorted(samples["wall"]), sorted(samples["cpu"])
    p95 = wall[int(len(wall) * 0.95) - 1] * 1000
    return (
        f"| {name} | {statistics.median(wall) * 1000:.3f} ms | {p95:.3f} ms "
        f"| {statistics.median(cpu) * 1000:.3f} ms | {len(wall)} |"
    )


def _print(results: dict[str, Any]) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\n{results['database']}: {results['policies']} Cedar policies in force "
        f"(load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print("| per decision | median | p95 | median CPU (this process) | samples |")
    print("|---|---|---|---|---|")
    print(_row("engine only (Cedar + reference reading)", results["engine"]))
    print(
        _row(
            f"family page ({results['page_size']} decisions, facts read once, one append)",
            results["page"],
        )
    )
    print(_row("single check, own facts, own append", results["single"]))


def _postgres_reachable(url: str) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a kinfold dependency
        return False
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not found:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=2000, help="samples of single checks")
    parser.add_argument("--database-url", default=None, help="one database only")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.database_url:
        results = measure(args.database_url, args.decisions)
        if args.json:
            print(json.dumps(results))
        else:
            _print(results)
        return 0
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    urls = [f"sqlite:///{Path(tempfile.mkdtemp(prefix='kinfold-bench-')) / 'access.sqlite3'}"]
    if _postgres_reachable(POSTGRES_URL):
        urls.append(POSTGRES_URL)
    else:
        print(f"(PostgreSQL at {POSTGRES_URL} is not reachable: SQLite only)")
    for url in urls:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.access",
                "--database-url",
                url,
                "--json",
                "--decisions",
                str(args.decisions),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        _print(json.loads(done.stdout.strip().splitlines()[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
