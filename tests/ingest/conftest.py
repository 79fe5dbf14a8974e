"""A small synthetic borough, and helpers to ingest its quarters and to see what changed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from kinfold.audit.actors import Actor
from kinfold.ingest import services
from kinfold.ingest.report import IngestReport
from kinfold.synth import generate

#: The small borough the ingest tests share: enough households and partners to link, fast to make.
RESIDENTS = 4000
SEED = 1
FIRST = "2015Q2"
SECOND = "2015Q3"


@pytest.fixture(scope="session")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic borough with two quarters of extracts and its truth (made once per worker)."""
    out = tmp_path_factory.mktemp("borough") / "northfield"
    generate(out, residents=RESIDENTS, seed=SEED, start=FIRST, quarters=2)
    return out


@pytest.fixture
def quarter_copy(borough: Path, tmp_path: Path) -> Callable[..., Path]:
    """A copy of a quarter's extracts to change (only the partners named, if any are)."""

    def copy(quarter: str = FIRST, partners: tuple[str, ...] = ()) -> Path:
        target = tmp_path / "extracts" / quarter
        target.mkdir(parents=True)
        for file in (borough / "extracts" / quarter).iterdir():
            if not partners or file.stem in partners:
                shutil.copy(file, target / file.name)
        return target

    return copy


@pytest.fixture
def ingest(agreements: None, tmp_path: Path) -> Callable[..., IngestReport]:
    """Ingest a quarter's folder as `kinfold quarter ingest` does, with this test's own partner
    folder (their secret) and reports folder."""
    partner_dir = tmp_path / "partner-side"

    def run(folder: Path, quarter: str | None = None, **options: Any) -> IngestReport:
        options.setdefault("report_path", tmp_path / "reports" / "quarantine.csv")
        actor = Actor.system(services.JOB, "test-run")
        return services.ingest_quarter(folder, quarter, actor, partner_dir=partner_dir, **options)

    return run


#: Tables an ingest writes (or must leave alone when it fails).
WRITTEN_APPS = ("ingest", "people", "audit")


def snapshot() -> dict[str, int]:
    """Rows per table of the parts an ingest writes to."""
    counts = {}
    with connection.cursor() as cursor:
        for label in WRITTEN_APPS:
            for model in apps.get_app_config(label).get_models():
                table = model._meta.db_table
                cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
                counts[table] = cursor.fetchone()[0]
    return counts
