"""Killing an ingest half-way leaves the database as it was: a real process, a real kill.

The ingest runs in a subprocess against its own SQLite file (the suite's test database is inside
a transaction no other process can see). A wrapper pauses it inside the transaction, after the
persons, households and every partner's records have been written; the test kills it there with
SIGKILL (no clean-up can run) and checks, from a fresh connection, that nothing was written.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ingest.conftest import FIRST

RUN = """
import os, sys, time
import django
django.setup()
from kinfold.agreements.services import load_folder
from kinfold.audit.actors import Actor
from django.core.management import call_command
call_command("migrate", verbosity=0)
load_folder(Actor.system("test-setup", "kill"))
print("READY", flush=True)
from kinfold.ingest import hub, services

real = hub._Writer._parent_links

def paused(self):
    real(self)
    print("MIDWAY", flush=True)
    time.sleep(120)

if os.environ.get("PAUSE") == "1":
    hub._Writer._parent_links = paused
report = services.ingest_quarter(sys.argv[1])
print("DONE", report.records, flush=True)
"""

TABLES = (
    "ingest_bundle", "ingest_partnerrecord", "ingest_indicator", "ingest_sealeddetail",
    "ingest_linkagestate", "people_person", "people_identity", "people_householdmember",
    "people_parentlink", "audit_entry",
)  # fmt: skip


def counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {t: connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def start(database: Path, data: Path, folder: Path, pause: bool) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kinfold.settings",
        "KINFOLD_ENV": "test",
        "KINFOLD_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{database}",
        "PAUSE": "1" if pause else "0",
    }
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(folder)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(process: subprocess.Popen[str], marker: str, seconds: float = 240) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line.strip())
        if line.startswith(marker):
            return seen
    process.kill()
    _, errors = process.communicate(timeout=30)
    raise AssertionError(f"no {marker}: {seen} {errors}")


@pytest.mark.slow
def test_killing_an_ingest_half_way_leaves_the_database_as_it_was(
    borough: Path, tmp_path: Path
) -> None:
    database = tmp_path / "kinfold.sqlite3"
    process = start(database, tmp_path, borough / "extracts" / FIRST, pause=True)
    wait_for(process, "READY")
    before = counts(database)
    wait_for(process, "MIDWAY")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # reaps it and closes the pipes
    assert counts(database) == before
    assert before["ingest_partnerrecord"] == 0
    # and the same ingest, run to the end afterwards, goes in whole
    again = start(database, tmp_path, borough / "extracts" / FIRST, pause=False)
    wait_for(again, "DONE")
    again.communicate(timeout=60)
    after = counts(database)
    assert after["ingest_partnerrecord"] > 0
    assert after["ingest_linkagestate"] == 1
