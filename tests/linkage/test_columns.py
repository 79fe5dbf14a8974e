"""The MAP string and the schema dict both make a ColumnMap; mistakes name the field."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinfold.errors import InputError
from kinfold.linkage import ColumnMap, FieldSource, parse_date
from kinfold.linkage.fields import ALL_FIELDS

PARSED = [
    (
        "the issue's example",
        (
            "given_name=forename,surname=surname,dob=dob:%Y-%m-%d,sex=sex,address=address,"
            "postcode=postcode,id=school_ref"
        ),
        {
            "given_name": FieldSource(("forename",)),
            "surname": FieldSource(("surname",)),
            "dob": FieldSource(("dob",), "%Y-%m-%d"),
            "sex": FieldSource(("sex",)),
            "address": FieldSource(("address",)),
            "postcode": FieldSource(("postcode",)),
        },
        "school_ref",
    ),
    ("no id: rows are numbered", "surname=SURNAME", {"surname": FieldSource(("SURNAME",))}, None),
    (
        "spaces around items and column names with spaces",
        " given_name = First Name , dob = Date of Birth:%d/%m/%Y ",
        {
            "given_name": FieldSource(("First Name",)),
            "dob": FieldSource(("Date of Birth",), "%d/%m/%Y"),
        },
        None,
    ),
    ("a date with no format is ISO", "dob=DOB", {"dob": FieldSource(("DOB",), "%Y-%m-%d")}, None),
    ("excel serial dates", "dob=DOB:excel", {"dob": FieldSource(("DOB",), "excel")}, None),
    (
        "several columns joined into one field",
        "address=line1+line2+town,postcode=pc",
        {"address": FieldSource(("line1", "line2", "town")), "postcode": FieldSource(("pc",))},
        None,
    ),
    (
        "an escaped comma inside a date format",
        r"dob=born:%d %b\, %Y",
        {"dob": FieldSource(("born",), "%d %b, %Y")},
        None,
    ),
    (
        "reference numbers and contact details",
        "nhs_number=NHS,upn=UPN,phone=TEL",
        {
            "nhs_number": FieldSource(("NHS",)),
            "upn": FieldSource(("UPN",)),
            "phone": FieldSource(("TEL",)),
        },
        None,
    ),
]


@pytest.mark.parametrize(("description", "text", "fields", "record_id"), PARSED)
def test_map_strings_parse(
    description: str, text: str, fields: dict[str, FieldSource], record_id: str | None
) -> None:
    parsed = ColumnMap.parse(text)
    assert dict(parsed.fields) == fields, description
    assert parsed.record_id == record_id


BAD = [
    ("unknown field", "forename=x", "'forename' is not an identity field"),
    ("no equals sign", "given_name", "is not field=column"),
    ("empty column", "surname=", "is not field=column"),
    ("field twice", "surname=a,surname=b", "names 'surname' twice"),
    ("id twice", "surname=a,id=x,id=y", "names 'id' twice"),
    ("nothing to link on", "phone=TEL,id=ref", "names no identity field"),
    ("date format with no day", "dob=DOB:%Y-%m", "has no day"),
    ("date format with no year", "dob=DOB:%d/%m", "has no year"),
    ("empty part of a joined column", "address=a++b", "names an empty column"),
]


@pytest.mark.parametrize(("description", "text", "message"), BAD)
def test_bad_map_strings_say_what_is_wrong(description: str, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ColumnMap.parse(text)


def test_a_schema_identity_table_makes_the_same_map() -> None:
    from_schema = ColumnMap.from_dict(
        {
            "given_name": "FORENAME",
            "surname": "SURNAME",
            "dob": {"column": "DOB", "format": "%d/%m/%Y"},
            "address": {"columns": ["ADDR1", "ADDR2"]},
            "postcode": "POSTCODE",
        },
        record_id="OCC_REF",
    )
    text = "given_name=FORENAME,surname=SURNAME,dob=DOB:%d/%m/%Y,address=ADDR1+ADDR2,"
    assert from_schema == ColumnMap.parse(text + "postcode=POSTCODE,id=OCC_REF")


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ({"dob": {"format": "%d/%m/%Y"}}, "needs a column"),
        ({"surname": 42}, "must be a column name"),
        ({"surname": "S", "sex": {"column": "SEX", "format": "%Y"}}, "only dob takes a format"),
        ({"middle_name": "M"}, "not an identity field"),
    ],
)
def test_bad_schema_identity_tables_are_refused(identity: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        ColumnMap.from_dict(identity)


column_names = st.text(
    alphabet=string.ascii_letters + string.digits + " _-.,/%", min_size=1, max_size=12
).filter(lambda c: c.strip() == c and c.strip() and "+" not in c)
field_choice = st.sampled_from([f for f in ALL_FIELDS if f != "dob"])


@given(
    st.dictionaries(field_choice, st.lists(column_names, min_size=1, max_size=3), min_size=1),
    st.one_of(st.none(), column_names),
    st.one_of(st.none(), st.sampled_from(["%d/%m/%Y", "%Y-%m-%d", "excel", "%d %b, %Y"])),
)
def test_any_map_round_trips_through_its_text(
    fields: dict[str, list[str]], record_id: str | None, date_format: str | None
) -> None:
    sources = {name: FieldSource(tuple(columns)) for name, columns in fields.items()}
    if date_format is not None:
        sources["dob"] = FieldSource(("born",), date_format)
    if not set(sources) - {"phone", "email"}:
        sources["surname"] = FieldSource(("surname",))
    original = ColumnMap.build(sources, record_id)
    assert ColumnMap.parse(original.to_text()) == original


@given(st.text(max_size=60))
def test_the_parser_never_crashes_on_any_text(text: str) -> None:
    try:
        parsed = ColumnMap.parse(text)
    except InputError as exc:
        message = str(exc)
        assert message
    else:
        assert ColumnMap.parse(parsed.to_text()) == parsed


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("14/03/1985", "%d/%m/%Y", date(1985, 3, 14)),
        ("1985-03-14", "%Y-%m-%d", date(1985, 3, 14)),
        ("19850314", "%Y%m%d", date(1985, 3, 14)),
        ("14 Mar 1985", "%d %b %Y", date(1985, 3, 14)),
        ("31120", "excel", date(1985, 3, 14)),
        ("31120.0", "excel", date(1985, 3, 14)),
        ("61", "excel", date(1900, 3, 1)),
    ],
)
def test_dates_parse_in_their_declared_format(text: str, fmt: str, expected: date) -> None:
    assert parse_date(text, fmt) == expected


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("1985-13-01", "%Y-%m-%d"),
        ("31/02/1985", "%d/%m/%Y"),
        ("yesterday", "excel"),
        ("0", "excel"),
    ],
)
def test_impossible_dates_do_not_parse(text: str, fmt: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_date(text, fmt)
