"""Bad files are refused whole, naming file, row and field, and leave the database as it was;
with quarantine, bad rows are set aside in a report (no values in it) and the rest goes in."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kinfold.errors import InputError
from kinfold.ingest.models import PartnerRecord
from kinfold.ingest.report import IngestReport, summary_path
from tests.ingest.conftest import FIRST, snapshot

Ingest = Callable[..., IngestReport]
Copy = Callable[..., Path]
Rows = list[dict[str, str]]


def read(path: Path) -> tuple[list[str], Rows]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write(path: Path, header: list[str], rows: Rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)


def change(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` counts as the file does (the header is row 1)."""
    header, rows = read(path)
    rows[row - 2][column] = value
    write(path, header, rows)


def drop_column(path: Path, column: str) -> None:
    header, rows = read(path)
    write(
        path,
        [h for h in header if h != column],
        [{k: v for k, v in r.items() if k != column} for r in rows],
    )


def append_raw(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(line)


#: The file's last row (the case does not know how many rows there are).
LAST = -1


@dataclass(frozen=True)
class Case:
    description: str
    file: str
    mutate: Callable[[Path], None]
    row: int | None
    field: str | None
    message: str


CASES = [
    Case("a flag's date that is no date", "police.csv",
         lambda p: change(p, 3, "OCC_DATE", "31/02/2015"), 3, "OCC_DATE", "not a date"),
    Case("a flag with no date", "dwp.csv",
         lambda p: change(p, 2, "EXTRACT_DATE", ""), 2, "EXTRACT_DATE", "no date"),
    Case("a date of birth in the wrong format", "dwp.csv",
         lambda p: change(p, 4, "DOB", "05/07/1988"), 4, "DOB", "not a date"),
    Case("a sex that is neither", "dwp.csv",
         lambda p: change(p, 2, "SEX", "Q"), 2, "SEX", "is not a sex"),
    Case("a value that is not a number", "schools.csv",
         lambda p: change(p, 5, "Attendance %", "ninety"), 5, "Attendance %", "not a number"),
    Case("a blank record id", "police.csv",
         lambda p: change(p, 2, "NOMINAL_REF", " "), 2, "NOMINAL_REF", "no record id"),
    Case("a repeated record id", "dwp.csv",
         lambda p: change(p, 3, "CLAIM_REF", read(p)[1][0]["CLAIM_REF"]), 3, "CLAIM_REF", "repeats"),
    Case("a column the schema needs is missing", "police.csv",
         lambda p: drop_column(p, "FORENAME"), 1, "FORENAME", "has no column"),
    Case("a row with more cells than the header", "dwp.csv",
         lambda p: append_raw(p, "X" + ",X" * 30 + "\n"), LAST, None, "cells"),
    Case("an empty file", "police.csv", lambda p: p.write_bytes(b""), 1, None, "empty"),
    Case("text that is not UTF-8", "police.csv",
         lambda p: p.write_bytes(p.read_bytes() + "Zoë,X\n".encode("cp1252")), None, None, "UTF-8"),
    Case("a spreadsheet that is not one", "das.xlsx",
         lambda p: p.write_bytes(b"not a workbook"), None, None, "XLSX"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.description for c in CASES])
def test_a_bad_file_is_refused_whole_naming_file_row_and_field(
    case: Case, ingest: Ingest, quarter_copy: Copy
) -> None:
    folder = quarter_copy(FIRST, partners=("police", "dwp", "das", "schools"))
    case.mutate(folder / case.file)
    before = snapshot()
    with pytest.raises(InputError) as caught:
        ingest(folder)
    error = caught.value
    assert Path(str(error.location.file)).name == case.file
    row = len((folder / case.file).read_bytes().splitlines()) if case.row == LAST else case.row
    assert error.location.row == row
    assert error.location.field == case.field
    assert case.message in error.message
    assert snapshot() == before


def test_a_folder_without_extracts_is_refused(ingest: Ingest, tmp_path: Path) -> None:
    folder = tmp_path / "extracts" / FIRST
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("nothing here")
    with pytest.raises(InputError, match="no partner extract"):
        ingest(folder)


def test_a_folder_that_is_not_a_quarters_needs_the_quarter(ingest: Ingest, borough: Path) -> None:
    with pytest.raises(InputError, match="give --quarter"):
        ingest(borough / "extracts")
    with pytest.raises(InputError, match="not 2016Q1"):
        ingest(borough / "extracts" / FIRST, "2016Q1")


def test_the_borough_folder_with_a_quarter_is_that_quarters_extracts(
    ingest: Ingest, borough: Path
) -> None:
    report = ingest(borough, FIRST)
    assert report.quarter == FIRST
    assert report.records > 0


@pytest.fixture
def bad_rows(quarter_copy: Copy) -> tuple[Path, list[str], list[str]]:
    """Police and DWP extracts with three bad rows; returns the folder, the bad rows' record ids
    and the bad values."""
    folder = quarter_copy(FIRST, partners=("police", "dwp"))
    police, dwp = folder / "police.csv", folder / "dwp.csv"
    ids = [
        read(police)[1][0]["NOMINAL_REF"],
        read(police)[1][2]["NOMINAL_REF"],
        read(dwp)[1][1]["CLAIM_REF"],
    ]
    values = ["31/02/2015", "99/99/1999", "1988-07-05"]
    change(police, 2, "OCC_DATE", values[0])
    change(police, 4, "DOB", values[1])
    change(dwp, 3, "DOB", values[2])
    return folder, ids, values


def test_quarantine_sets_bad_rows_aside_and_takes_the_rest(
    ingest: Ingest, bad_rows: tuple[Path, list[str], list[str]], tmp_path: Path
) -> None:
    folder, ids, _ = bad_rows
    report = ingest(folder, quarantine=True)
    assert report.quarantined == 3
    police = next(p for p in report.partners if p.partner == "police")
    assert [(q["row"], q["field"]) for q in police.quarantined] == [(2, "OCC_DATE"), (4, "DOB")]
    assert police.records == police.rows - 2
    stored = set(PartnerRecord.objects.values_list("source_ref", flat=True))
    assert not stored & set(ids)
    assert len(stored) == report.records


def test_the_quarantine_report_names_rows_and_fields_but_no_values(
    ingest: Ingest, bad_rows: tuple[Path, list[str], list[str]], tmp_path: Path
) -> None:
    folder, _, values = bad_rows
    report = ingest(folder, quarantine=True)
    assert report.quarantine_report is not None
    with report.quarantine_report.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["partner"], r["row"], r["field"]) for r in rows] == [
        ("dwp", "3", "DOB"), ("police", "2", "OCC_DATE"), ("police", "4", "DOB"),
    ]  # fmt: skip
    assert all(r["problem"] for r in rows)
    summary = summary_path(report.quarantine_report).read_text()
    assert "police" in summary
    assert "2 of" in summary
    everything = report.quarantine_report.read_text() + summary + "\n".join(report.lines())
    for value in values:
        assert value not in everything


def test_the_partner_keeps_its_own_quarantine_list_with_the_reasons_in_full(
    ingest: Ingest, bad_rows: tuple[Path, list[str], list[str]], tmp_path: Path
) -> None:
    folder, _, _ = bad_rows
    ingest(folder, quarantine=True)
    partner_list = tmp_path / "partner-side" / "bundles" / FIRST / "police.quarantine.csv"
    with partner_list.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["field"]) for r in rows] == [("2", "OCC_DATE"), ("4", "DOB")]
    assert "day is out of range" in rows[0]["reason"]


def test_without_quarantine_the_same_file_is_refused(
    ingest: Ingest, bad_rows: tuple[Path, list[str], list[str]]
) -> None:
    folder, _, _ = bad_rows
    before = snapshot()
    with pytest.raises(InputError) as caught:
        ingest(folder)
    assert (Path(str(caught.value.location.file)).name, caught.value.location.row) == ("dwp.csv", 3)
    assert snapshot() == before
