"""How one pair of records is compared on encodings: the comparison levels that tell a recording
difference (a swapped day and month, a spelling of a name, a nickname, a UPRN with an address
written another way) from a different person."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.linkage import ColumnMap, EncodedTable, Settings, encode
from kinfold.linkage._bloom import qgrams
from kinfold.linkage._compare import comparisons, levels, present_fields
from kinfold.linkage._encode import DOB_UNORDERED_TOKEN, _Encoder
from kinfold.linkage._keys import token64, tokens64
from tests.linkage.conftest import SECRET, person

HOMES_MAP = ColumnMap.parse(
    "given_name=forename,surname=surname,dob=dob:%Y-%m-%d,address=address,postcode=postcode,"
    "uprn=uprn,id=ref"
)


def _levels(left: EncodedTable, right: EncodedTable) -> dict[str, str]:
    design = comparisons(Settings.default(), present_fields(left, right))
    found = levels(design, left, right, np.array([0]), np.array([0]))[0]
    return {c.name: c.level_names()[level] for c, level in zip(design, found, strict=True)}


def _pair(left: dict[str, str], right: dict[str, str]) -> dict[str, str]:
    def one(row: dict[str, str], source: str) -> EncodedTable:
        row = {"sex": "F", "address": "3 Mill Lane", "postcode": "NF2 9XY", **row}
        return encode([person(**row)], ColumnMap.parse(_MAP), SECRET, source=source)

    return _levels(one(left, "a"), one(right, "b"))


_MAP = (
    "given_name=forename,surname=surname,dob=dob:%Y-%m-%d,sex=sex,address=address,"
    "postcode=postcode,id=ref"
)


@pytest.mark.parametrize(
    ("description", "left", "right", "field", "level"),
    [
        (
            "day and month swapped",
            {"forename": "Mia", "surname": "Mason", "dob": "1987-05-12"},
            {"forename": "Mia", "surname": "Mason", "dob": "1987-12-05"},
            "dob",
            "day-month swapped",
        ),
        (
            "a one-digit slip is not a swap",
            {"forename": "Mia", "surname": "Mason", "dob": "1987-05-12"},
            {"forename": "Mia", "surname": "Mason", "dob": "1987-05-13"},
            "dob",
            "dice>=0.7",
        ),
        (
            "another year, the same day and month swapped, is different",
            {"forename": "Mia", "surname": "Mason", "dob": "1987-05-12"},
            {"forename": "Mia", "surname": "Mason", "dob": "1961-12-05"},
            "dob",
            "different",
        ),
        (
            "a spelling of one name (Siobhán, Shivaun)",
            {"forename": "Siobhán", "surname": "Kelly", "dob": "1983-08-20"},
            {"forename": "Shivaun", "surname": "Kelly", "dob": "1983-08-20"},
            "given_name",
            "nickname",
        ),
        (
            "one name in two languages (Jakub, Jacob)",
            {"forename": "Jakub", "surname": "Nowak", "dob": "2003-08-28"},
            {"forename": "JACOB", "surname": "NOWAK", "dob": "2003-08-28"},
            "given_name",
            "nickname",
        ),
        (
            "a familiar form from another community (Bally, Balwinder)",
            {"forename": "Balwinder", "surname": "Mistry", "dob": "1993-07-14"},
            {"forename": "Bally", "surname": "Mistry", "dob": "1993-07-14"},
            "given_name",
            "nickname",
        ),
        (
            "twins' names are different",
            {"forename": "Vihaan", "surname": "Iyer", "dob": "2006-11-21"},
            {"forename": "Rohan", "surname": "Iyer", "dob": "2006-11-21"},
            "given_name",
            "dice>=0.5",
        ),
        (
            "names the wrong way round are read crosswise",
            {"forename": "Anthony", "surname": "Browne", "dob": "1932-02-27"},
            {"forename": "Browne", "surname": "Anthony", "dob": "1932-02-27"},
            "surname",
            "identical",
        ),
    ],
)
def test_comparison_levels(
    description: str, left: dict[str, str], right: dict[str, str], field: str, level: str
) -> None:
    assert _pair({"ref": "1", **left}, {"ref": "2", **right})[field] == level, description


def test_a_uprn_is_a_home_not_a_person() -> None:
    rows = [
        {"ref": "1", "forename": "Ann", "surname": "Lee", "dob": "1980-01-01", "uprn": "990000012",
         "address": "Flat 2, Oak House, 5 Kestrel Way", "postcode": "NF3 2EG"},
        {"ref": "2", "forename": "Ann", "surname": "Lee", "dob": "1980-01-01", "uprn": "990000012",
         "address": "2 Oak Ho, Kestrel Wy, Westcote", "postcode": "NF3 2EG"},
    ]  # fmt: skip
    left = encode(rows[:1], HOMES_MAP, SECRET, source="housing")
    right = encode(rows[1:], HOMES_MAP, SECRET, source="housing-2")
    found = _levels(left, right)
    assert found["location"] == "same address"  # however the address was written
    assert "uprn" not in found  # never a person's identifier: two people share a home


def test_a_table_encoded_before_the_day_month_token_compares_without_it() -> None:
    left = encode([person("1", "Mia", "Mason", "1987-05-12")], ColumnMap.parse(_MAP), SECRET)
    right = encode([person("2", "Mia", "Mason", "1987-12-05")], ColumnMap.parse(_MAP), SECRET)
    tokens = {k: v for k, v in right.tokens.items() if k != DOB_UNORDERED_TOKEN}
    older = dataclasses.replace(right, tokens=tokens, _popcounts={})
    assert _levels(left, right)["dob"] == "day-month swapped"
    assert _levels(left, older)["dob"] == "dice>=0.5"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["", "smith", "ann", "12 high st", "é"]), max_size=12))
def test_tokens_made_together_are_the_tokens_made_one_by_one(texts: list[str]) -> None:
    key = b"k" * 32
    expected = [token64(key, t) if t else 0 for t in texts]
    assert tokens64(key, texts).tolist() == expected


words = st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(words, min_size=1, max_size=7), st.sampled_from(["", "1980\x1f"]))
def test_address_filters_built_word_by_word_are_the_filters_of_every_bigram(
    parts: list[str], salt: str
) -> None:
    encoder = _Encoder(SECRET, Settings.default())
    address = " ".join(parts)
    whole = encoder.filters["address"].mask(qgrams(address, 2), salt)
    assert encoder._address_mask(address, salt) == whole
