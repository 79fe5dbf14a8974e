"""Extract schemas (kinfold.ingest.schema): loading and checking them, reading rows and files, and
parsing the dates and values partners send. Plain Python: no database."""

from __future__ import annotations

import contextlib
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinfold.errors import ConfigError, InputError
from kinfold.ingest.schema import (
    CATEGORIES,
    Schema,
    excel_serial,
    iter_rows,
    load_schema,
    load_schemas,
    parse_date,
    parse_value,
    schema_from_toml,
)
from kinfold.synth import PARTNERS

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "config" / "schemas"

MINIMAL = """
[partner]
id = "police"
organisation = "northfield-police"
name = "Northfield Police"
file = "police.csv"
format = "csv"
record_id = "REF"

[identity]
given_name = "FORENAME"
surname = "SURNAME"
dob = { column = "DOB", format = "%d/%m/%Y" }

[[related]]
relation = "parent"
identity = { given_name = "CARER", surname = "CARER_SURNAME" }

[[indicators]]
code = "police.asb_incident"
category = "antisocial-behaviour"
date = { column = "WHEN", format = "%d/%m/%Y" }
when = { column = "TYPE", in = ["ASB"] }

[[indicators]]
code = "school.attendance"
category = "education"
date = { column = "WHEN", format = "%d/%m/%Y" }
value = "PCT"

[detail]
antisocial-behaviour = ["NOTES"]
"""


def schema(text: str = MINIMAL) -> Schema:
    return schema_from_toml(tomllib.loads(text), "test.toml")


def row(**cells: str) -> dict[str, str]:
    base = {
        "REF": "R1",
        "FORENAME": "Ada",
        "SURNAME": "Obi",
        "DOB": "02/03/2010",
        "CARER": "",
        "CARER_SURNAME": "",
        "WHEN": "15/05/2016",
        "TYPE": "ASB",
        "PCT": "87.5",
        "NOTES": "noise",
    }
    base.update(cells)
    return base


# -- the shipped schemas ----------------------------------------------------------------------------


def test_every_partner_has_a_schema_that_loads() -> None:
    schemas = load_schemas(SCHEMAS)
    assert set(schemas) == set(PARTNERS)
    assert sum(s.format == "xlsx" for s in schemas.values()) == 1


def test_schemas_name_the_organisations_in_the_agreements() -> None:
    organisations = tomllib.loads((ROOT / "agreements" / "organisations.toml").read_text())
    partner_of = {
        slug: entry["partner"]
        for slug, entry in organisations["organisations"].items()
        if "partner" in entry
    }
    for partner, loaded in load_schemas(SCHEMAS).items():
        assert partner_of[loaded.organisation] == partner


# -- reading a row ----------------------------------------------------------------------------------


def test_a_row_splits_into_identity_indicators_and_detail() -> None:
    parsed = schema().read_row(row(CARER="Bola", CARER_SURNAME="Obi"), row_number=2)
    assert parsed.record_id == "R1"
    assert parsed.identity.values == {"given_name": "Ada", "surname": "Obi", "dob": "02/03/2010"}
    assert parsed.identity.date_formats == {"dob": "%d/%m/%Y"}
    assert parsed.identity.dates == {"dob": date(2010, 3, 2)}
    assert [r.relation for r in parsed.related] == ["parent"]
    assert parsed.related[0].identity.values == {"given_name": "Bola", "surname": "Obi"}
    assert [(i.code, i.category, i.date, i.value) for i in parsed.indicators] == [
        ("police.asb_incident", "antisocial-behaviour", date(2016, 5, 15), None),
        ("school.attendance", "education", date(2016, 5, 15), 87.5),
    ]
    assert parsed.detail == {"antisocial-behaviour": {"NOTES": "noise"}}


def test_empty_fields_and_unmatched_indicators_are_left_out() -> None:
    parsed = schema().read_row(row(DOB=" ", TYPE="CRIME", PCT=""))
    assert "dob" not in parsed.identity.values
    assert parsed.related == ()  # a carer with no name is nobody
    assert [(i.code, i.value) for i in parsed.indicators] == [("school.attendance", None)]


@pytest.mark.parametrize(
    ("description", "cells", "column", "words"),
    [
        ("no record id", {"REF": "  "}, "REF", "no record id"),
        ("a date of birth that is no date", {"DOB": "31/02/2010"}, "DOB", "not a date"),
        ("a date in another format", {"WHEN": "2016-05-15"}, "WHEN", "not a date"),
        ("an indicator without its date", {"WHEN": ""}, "WHEN", "no date"),
        ("a value that is not a number", {"PCT": "high"}, "PCT", "not a number"),
    ],
)
def test_bad_values_name_the_file_row_and_column(
    description: str, cells: dict[str, str], column: str, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        schema().read_row(row(**cells), row_number=7, file="police.csv")
    message = str(caught.value)
    assert message.startswith(f"police.csv, row 7, field '{column}'"), description
    assert words in message, description


def test_a_missing_column_is_an_input_error() -> None:
    cells = row()
    del cells["NOTES"]
    with pytest.raises(InputError, match="field 'NOTES'"):
        schema().read_row(cells, row_number=3)


# -- checking schema files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "old", "new", "key"),
    [
        ("an unknown key", 'record_id = "REF"', 'record_id = "REF"\ncolour = "blue"', "partner.colour"),
        ("a missing key", 'record_id = "REF"\n', "", "partner.record_id"),
        ("a field linkage does not know", 'surname = "SURNAME"', 'shoe_size = "SIZE"', "identity.shoe_size"),
        ("a date of birth without its format", 'dob = { column = "DOB", format = "%d/%m/%Y" }',
         'dob = "DOB"', "identity.dob"),
        ("a format with no year", 'dob = { column = "DOB", format = "%d/%m/%Y" }',
         'dob = { column = "DOB", format = "%d/%m" }', "identity.dob.format"),
        ("a strftime directive dates do not use", 'dob = { column = "DOB", format = "%d/%m/%Y" }',
         'dob = { column = "DOB", format = "%d/%m/%Y %Z" }', "identity.dob.format"),
        ("an unknown data category", 'category = "antisocial-behaviour"', 'category = "gossip"',
         "indicators[0].category"),
        ("a malformed indicator code", 'code = "police.asb_incident"', 'code = "ASB"', "indicators[0].code"),
        ("a condition without values", 'in = ["ASB"]', "in = []", "indicators[0].when.in"),
        ("a file that is not its format", 'file = "police.csv"', 'file = "police.xlsx"', "partner.file"),
        ("an unknown format", 'format = "csv"', 'format = "parquet"', "partner.format"),
        ("detail under an unknown category", "antisocial-behaviour = [", "gossip = [", "detail.gossip"),
        ("an organisation that is not a slug", 'organisation = "northfield-police"',
         'organisation = "Northfield Police"', "partner.organisation"),
    ],
)  # fmt: skip
def test_bad_schemas_name_the_file_and_key(description: str, old: str, new: str, key: str) -> None:
    assert old in MINIMAL, description
    with pytest.raises(ConfigError) as caught:
        schema(MINIMAL.replace(old, new, 1))
    assert str(caught.value).startswith(f"test.toml, field '{key}'"), (
        description,
        str(caught.value),
    )


def test_a_schema_file_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[partner\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_schema(path)


def test_two_schemas_for_one_partner_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(MINIMAL)
    (tmp_path / "b.toml").write_text(MINIMAL)
    with pytest.raises(ConfigError, match="second schema for partner 'police'"):
        load_schemas(tmp_path)


def test_the_columns_a_schema_reads() -> None:
    assert schema().columns() == {
        "REF", "FORENAME", "SURNAME", "DOB", "CARER", "CARER_SURNAME", "WHEN", "TYPE", "PCT", "NOTES",
    }  # fmt: skip


# -- reading files ----------------------------------------------------------------------------------


def write_csv(path: Path, text: str, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


HEADER = "REF,FORENAME,SURNAME,DOB,CARER,CARER_SURNAME,WHEN,TYPE,PCT,NOTES"


def test_csv_rows_stream_with_their_row_numbers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "police.csv",
        f"{HEADER}\r\nR1,Ada,Obi,02/03/2010,,,15/05/2016,ASB,,\r\n\r\n"
        'R2,"Ó Sé, Máire",Obi,,,,16/05/2016,CRIME,,"two\nlines"\r\n',
        bom=True,
    )
    rows = list(iter_rows(path))
    # Rows as a spreadsheet counts them: the blank row 3 is skipped; row 4's cell holds a line break.
    assert [number for number, _ in rows] == [2, 4]
    assert rows[1][1]["FORENAME"] == "Ó Sé, Máire"
    assert rows[1][1]["NOTES"] == "two\nlines"
    parsed = list(schema().read_file(path))
    assert [p.record_id for p in parsed] == ["R1", "R2"]
    assert parsed[1].row == 4


@pytest.mark.parametrize(
    ("description", "text", "words", "row"),
    [
        ("a missing column", "REF,FORENAME\nR1,Ada\n", "has no column", 1),
        ("a short row", f"{HEADER}\nR1,Ada\n", "has 2 cells", 2),
        ("a long row", f"{HEADER}\nR1,Ada,Obi,,,,15/05/2016,,,,extra\n", "has 11 cells", 2),
        ("a repeated record id", f"{HEADER}\nR1,A,B,,,,15/05/2016,,,\nR1,C,D,,,,15/05/2016,,,\n",
         "repeats record id", 3),
        ("a header naming a column twice", "REF,REF\n", "twice", 1),
        ("an empty file", "", "no header", 1),
    ],
)  # fmt: skip
def test_bad_files_name_the_row(
    tmp_path: Path, description: str, text: str, words: str, row: int
) -> None:
    path = write_csv(tmp_path / "police.csv", text)
    with pytest.raises(InputError) as caught:
        list(schema().read_file(path))
    assert words in str(caught.value), description
    assert caught.value.location.row == row, description


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "police.csv"
    path.write_bytes(HEADER.encode() + b"\nR1,Jos\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        list(iter_rows(path))


def test_xlsx_cells_read_as_an_export_would_write_them(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Referral ID", "Client DOB", "Seen", "Count", "Score", "Note"])
    sheet.append(["D1", date(2001, 2, 3), datetime(2016, 5, 15, 9, 30), 42, 87.5, None])
    path = tmp_path / "das.xlsx"
    book.save(path)
    ((number, cells),) = list(iter_rows(path))
    assert number == 2
    assert cells == {
        "Referral ID": "D1",
        "Client DOB": "2001-02-03",
        "Seen": "2016-05-15 09:30:00",
        "Count": "42",
        "Score": "87.5",
        "Note": "",
    }


def test_a_damaged_workbook(tmp_path: Path) -> None:
    path = tmp_path / "das.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable XLSX"):
        list(iter_rows(path))


# -- dates and values ---------------------------------------------------------------------------------

FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%Y%m%d", "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%d.%m.%y",
           "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]  # fmt: skip


@given(st.dates(date(1900, 3, 1), date(2099, 12, 31)), st.sampled_from(FORMATS))
def test_dates_parse_back_from_every_format(day: date, fmt: str) -> None:
    if "%y" in fmt and not 1969 <= day.year <= 2068:
        return  # two-digit years only cover a century
    text = datetime(day.year, day.month, day.day, 13, 5, 9).strftime(fmt)
    assert parse_date(f" {text} ", fmt) == day


@given(st.dates(date(1900, 1, 1), date(2099, 12, 31)))
def test_excel_day_numbers_parse_back(day: date) -> None:
    serial = excel_serial(day)
    assert parse_date(str(serial), "excel") == day
    assert parse_date(f"{serial}.75", "excel") == day  # a time of day is dropped


def test_excel_day_numbers_match_excel() -> None:
    assert parse_date("1", "excel") == date(1900, 1, 1)
    assert parse_date("59", "excel") == date(1900, 2, 28)
    assert parse_date("61", "excel") == date(1900, 3, 1)
    assert parse_date("42370", "excel") == date(2016, 1, 1)
    with pytest.raises(ValueError, match="never was"):
        parse_date("60", "excel")


@given(st.text(max_size=20), st.sampled_from([*FORMATS, "excel"]))
def test_bad_date_text_is_only_ever_a_value_error(text: str, fmt: str) -> None:
    with contextlib.suppress(ValueError):
        parse_date(text, fmt)


@pytest.mark.parametrize(
    "text", ["31/02/2016", "00/01/2016", "15/13/2016", "1/1/16", "15/05/2016x"]
)
def test_impossible_or_misshapen_dates(text: str) -> None:
    with pytest.raises(ValueError, match=r"day is out of range|month must be|does not match"):
        parse_date(text, "%d/%m/%Y")


def test_month_names_in_any_case() -> None:
    assert parse_date("15-MAR-2016", "%d-%b-%Y") == date(2016, 3, 15)
    assert parse_date("15 sept 2016", "%d %b %Y") == date(2016, 9, 15)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_parse_back(number: float) -> None:
    assert parse_value(repr(number)) == number
    assert parse_value(f" {number!r}% ") == number


@pytest.mark.parametrize(
    ("text", "value"), [("", None), ("  ", None), ("87.5", 87.5), ("90%", 90.0)]
)
def test_values(text: str, value: Any) -> None:
    assert parse_value(text) == value


@pytest.mark.parametrize("text", ["high", "nan", "inf", "1,5", "--1"])
def test_values_that_are_not_numbers(text: str) -> None:
    with pytest.raises(ValueError, match=r"number|float"):
        parse_value(text)


def test_the_category_list_is_the_contracts() -> None:
    contracts = (ROOT / "docs" / "contracts.md").read_text()
    for category in CATEGORIES:
        assert f"`{category}`" in contracts
