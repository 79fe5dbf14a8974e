"""`kinfold quarter ingest`: the command a data manager runs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kinfold.ingest.models import Bundle
from tests.ingest.conftest import FIRST

Copy = Callable[..., Path]


@pytest.fixture
def places(settings: Any, tmp_path: Path, agreements: None) -> Path:
    """Partner-side and report folders of this test's own."""
    settings.KINFOLD_INGEST_PARTNER_DIR = str(tmp_path / "partner-side")
    settings.KINFOLD_INGEST_REPORTS_DIR = str(tmp_path / "reports")
    return tmp_path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("quarter", "ingest", *args, stdout=out)
    return out.getvalue()


def test_ingest_prints_what_each_partner_sent_and_what_linkage_made_of_it(
    places: Path, borough: Path
) -> None:
    output = run(str(borough), "--quarter", FIRST)
    assert "schools: " in output
    assert f"{FIRST}: " in output
    assert "persons" in output
    assert "households" in output
    assert Bundle.objects.filter(quarter=FIRST).count() == 10
    assert "already ingested" in run(str(borough / "extracts" / FIRST))


def test_a_bad_file_stops_the_command_with_the_input_exit_status(
    places: Path, quarter_copy: Copy
) -> None:
    folder = quarter_copy(FIRST, partners=("dwp",))
    text = (folder / "dwp.csv").read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([text[0]]))
    cells = next(csv.reader([text[1]]))
    cells[header.index("DOB")] = "not a date"
    text[1] = ",".join(f'"{c}"' for c in cells)
    (folder / "dwp.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        run(str(folder))
    assert caught.value.returncode == 4
    assert "dwp.csv, row 2, field 'DOB'" in str(caught.value)
    assert not Bundle.objects.exists()


def test_quarantine_writes_the_report_where_asked(places: Path, quarter_copy: Copy) -> None:
    folder = quarter_copy(FIRST, partners=("dwp",))
    lines = (folder / "dwp.csv").read_text(encoding="utf-8").splitlines()
    lines.append("X" + ",X" * 14)  # a row whose dates are not dates
    (folder / "dwp.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = places / "q.csv"
    output = run(str(folder), "--quarantine", "--report", str(report))
    assert "1 rows quarantined" in output
    assert str(report) in output
    assert report.read_text().splitlines()[0] == "quarter,partner,file,row,field,problem"
    assert report.with_name("q.summary.txt").exists()


def test_the_quarter_command_lists_ingest_with_its_options() -> None:
    from kinfold.programme.management.commands.quarter import Command

    parser = Command().create_parser("kinfold", "quarter")
    assert "ingest" in parser.format_help()
    ingest = parser._subparsers._group_actions[0].choices["ingest"]  # type: ignore[union-attr]
    usage = ingest.format_help()
    for option in ("--quarter", "--quarantine", "--report", "DIR"):
        assert option in usage


def test_partners_make_bundles_themselves_and_the_hub_ingests_them(
    places: Path, borough: Path, tmp_path: Path
) -> None:
    from kinfold.ingest import cli
    from kinfold.linkage import new_secret

    key = tmp_path / "hub-transport.key"
    call_command("quarter", "hub-key", "--out", str(key), stdout=io.StringIO())
    secret = tmp_path / "linkage.secret"
    secret.write_bytes(new_secret())
    sent = tmp_path / "sent" / FIRST
    sent.mkdir(parents=True)
    root = Path(__file__).resolve().parents[2]
    for partner in ("dwp", "police", "schools"):
        extract = next((borough / "extracts" / FIRST).glob(f"{partner}.*"))
        status = cli.main([
            str(extract), "--schema", str(root / "config" / "schemas" / f"{partner}.toml"),
            "--quarter", FIRST, "--secret-file", str(secret), "--hub-key", str(key),
            "--agreements", str(root / "agreements"), "--out", str(sent / f"{partner}.kfb"),
        ])  # fmt: skip
        assert status == 0
    output = run(str(sent))
    assert "dwp: " in output
    assert set(Bundle.objects.values_list("organisation__slug", flat=True)) == {
        "dwp-northfield", "northfield-police", "northfield-schools",
    }  # fmt: skip
    assert not (places / "partner-side").exists()  # the hub played no partner this time
