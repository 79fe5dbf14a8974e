"""Concurrent writers never fork the chain: sequence numbers stay gap-free and the log verifies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from django.db import connection

from kinfold.audit import services
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry
from kinfold.audit.verification import verify_log

WRITERS = 4
EACH = 25


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads on PostgreSQL; SQLite below")
@pytest.mark.django_db(transaction=True)
def test_threads_writing_at_once_on_postgresql() -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            actor = Actor.system(f"writer-{worker}", "run-1")
            for i in range(EACH):
                services.record(actor, Event.FAMILY_VIEWED, details={"i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(WRITERS * EACH))
    assert verify_log().ok


WRITER = """
import os, sys, django
django.setup()
from kinfold.audit import services
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
actor = Actor.system("writer-" + sys.argv[1], "run-1")
for i in range({each}):
    services.record(actor, Event.FAMILY_VIEWED, details={{"i": i}})
"""

CHECK = """
import django
django.setup()
from kinfold.audit.models import AuditEntry
from kinfold.audit.verification import verify_log
seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
report = verify_log()
print(len(seqs), seqs == list(range(len(seqs))), report.ok, report.problems)
"""


@pytest.mark.slow
def test_processes_writing_at_once_on_a_sqlite_file(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KINFOLD_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "kinfold.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        "KINFOLD_DATA_DIR": str(tmp_path),
    }
    migrate = [sys.executable, "-m", "django", "migrate", "audit", "--skip-checks", "-v", "0"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)
    code = textwrap.dedent(WRITER.format(each=EACH))
    writers = [
        subprocess.Popen([sys.executable, "-c", code, str(w)], env=env, stderr=subprocess.PIPE)
        for w in range(WRITERS)
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr.decode()
    result = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"{WRITERS * EACH} True True []"
