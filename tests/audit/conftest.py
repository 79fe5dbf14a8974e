"""Fixtures for the audit log's tests: actors, a filled log, and raw-SQL tampering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from kinfold.audit import checkpoints, services
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry

TABLES = ("audit_entry", "audit_subject", "audit_tree_node", "audit_checkpoint")
FAMILY = "F7K2M9QX4TBA"
PERSON = "P3M9K2QX7TBB"
OTHER_FAMILY = "F9Q4TB7K2M3X"


@pytest.fixture
def key_worker() -> Actor:
    return Actor(kind="user", id="kw.amara", role="key_worker", organisation="northfield-council")


@pytest.fixture
def job() -> Actor:
    return Actor.system("quarter-ingest", "20261125T101500Z-ab12cd")


FillLog = Callable[..., list[AuditEntry]]


@pytest.fixture
def fill_log(db: None, key_worker: Actor) -> FillLog:
    """Record `n` entries about alternating families (subjects, details and all)."""

    def fill(n: int, *, start: int = 0) -> list[AuditEntry]:
        made = []
        for i in range(start, start + n):
            made.append(
                services.record(
                    key_worker,
                    Event.FAMILY_VIEWED if i % 3 else Event.FAMILY_CONSENT_GIVEN,
                    resource=f"family:{FAMILY if i % 2 else OTHER_FAMILY}",
                    subjects=[FAMILY, PERSON] if i % 2 else [OTHER_FAMILY],
                    purpose="key-work",
                    decision="allow",
                    reason="assigned key worker",
                    basis="consent:C12",
                    details={"n": i, "category": "education", "flags": ["a", "b"]},
                )
            )
        return made

    return fill


@pytest.fixture
def checkpoint(db: None) -> Callable[[], int]:
    """Sign a checkpoint now; returns its tree size."""

    def sign() -> int:
        made = checkpoints.make_checkpoint(Actor.system("audit-checkpoint", "test-run"))
        return int(made.checkpoint.tree_size)

    return sign


@pytest.fixture
def tamper(db: None) -> Callable[..., None]:
    """Run raw SQL against the audit tables with their append-only triggers out of the way.

    The trigger change happens inside the test's transaction, so it is rolled back with it.
    """
    with connection.cursor() as cursor:
        for table in TABLES:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
            else:
                cursor.execute(f"DROP TRIGGER {table}_no_update")

    def run(sql: str, params: list[Any] | None = None) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])

    return run
