"""`kinfold demo --no-serve` builds a working demo, and a second run reuses it without duplicates."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def demo(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env |= {
        "KINFOLD_ENV": "demo",
        "KINFOLD_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'kinfold.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "kinfold", "demo", "--no-serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        tables = (
            "people_family",
            "people_person",
            "staff_user",
            "agreements_agreement",
            "ingest_indicator",
            "programme_identificationrun",
            "programme_journey",
            "staff_assignment",
            "portal_portalaccount",
        )
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.mark.slow
def test_demo_builds_once_and_reuses_what_exists(tmp_path: Path) -> None:
    first = demo(tmp_path)
    assert first.returncode == 0, first.stderr
    assert str(tmp_path / "kinfold.sqlite3") in first.stdout  # it says where the database is
    for username in (
        "amara.keyworker",
        "jo.manager",
        "sam.analyst",
        "priya.dpo",
        "lee.police",
        "alex.admin",
    ):
        assert username in first.stdout
    before = counts(tmp_path / "kinfold.sqlite3")
    # the real pipeline ran: partner flags ingested, every quarter identified, families allocated
    assert before["people_family"] > 0
    assert before["ingest_indicator"] > 1000
    assert before["programme_identificationrun"] == 12
    assert before["programme_journey"] > 20
    assert before["staff_assignment"] == 6
    assert before["portal_portalaccount"] == 1
    assert "Families eligible in 2018Q1" in first.stdout
    assert "Family portal:" in first.stdout
    assert str(tmp_path / "portal-outbox") in first.stdout

    second = demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert counts(tmp_path / "kinfold.sqlite3") == before
    # the same sign-ins, so what the first run printed still works
    assert first.stdout.split("Sign-ins")[1] == second.stdout.split("Sign-ins")[1]
