"""What the benchmarks that run kinfold's hub share: Django set up on a benchmark database (fixed
test keys, a SQLite file in the work folder unless a URL is given), a wiped database with the
agreements loaded, and this process's peak memory."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def sqlite_file(folder: Path, name: str) -> Path:
    """The benchmark's SQLite file: ``bench-<name>.sqlite3`` in the work folder."""
    return folder / f"bench-{name}.sqlite3"


def setup(database_url: str | None, folder: Path, name: str) -> str:
    """Point kinfold at the benchmark's database and start Django; returns the database URL."""
    os.environ["KINFOLD_ENV"] = "test"  # fixed, obviously-not-secret keys
    os.environ["DJANGO_SETTINGS_MODULE"] = "kinfold.settings"
    os.environ["KINFOLD_DATA_DIR"] = str(folder)
    url = database_url or f"sqlite:///{sqlite_file(folder, name)}"
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    return url


def fresh_database(folder: Path, name: str) -> None:
    """An empty database with the agreements loaded (a benchmark database only: it is wiped)."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_file(folder, name)}{suffix}").unlink(missing_ok=True)
    call_command("migrate", verbosity=0, skip_checks=True)
    from kinfold.agreements.services import load_folder
    from kinfold.audit.actors import Actor

    load_folder(Actor.system("bench-setup", name))


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
