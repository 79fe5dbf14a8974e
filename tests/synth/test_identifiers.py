"""Synthetic identifiers pass format checks and can never be a real person's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinfold.synth import identifiers as ids

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


@given(nine_digits)
def test_an_nhs_number_with_its_check_digit_is_valid(first_nine: str) -> None:
    check = ids.nhs_check_digit(first_nine)
    if check is None:  # these nine digits have no valid NHS number
        assert not any(ids.is_valid_nhs_number(first_nine + str(d)) for d in range(10))
    else:
        assert ids.is_valid_nhs_number(first_nine + str(check))
        others = [d for d in range(10) if d != check]
        assert not any(ids.is_valid_nhs_number(first_nine + str(d)) for d in others)


@given(nine_digits, st.integers(0, 8), st.integers(1, 9))
def test_the_nhs_check_digit_catches_any_single_digit_mistake(
    first_nine: str, position: int, shift: int
) -> None:
    check = ids.nhs_check_digit(first_nine)
    if check is None:
        return
    wrong = first_nine[:position] + str((int(first_nine[position]) + shift) % 10)
    wrong += first_nine[position + 1 :]
    assert not ids.is_valid_nhs_number(wrong + str(check))


def test_synthetic_nhs_numbers_are_valid_distinct_and_in_the_test_range() -> None:
    numbers = ids.nhs_test_numbers(np.random.default_rng(7))
    assert 900_000 < len(numbers) < 920_000  # about 10 in 11 of the million have a check digit
    assert len(np.unique(numbers)) == len(numbers)
    for number in numbers[:: len(numbers) // 2000].tolist():
        assert ids.is_test_nhs_number(str(number))
    assert not ids.is_test_nhs_number("4010232137")  # valid, but an issuable range


@given(st.integers(0, ids.NI_SPACE - 1), st.integers(0, 2**30))
def test_synthetic_ni_numbers_are_well_formed_but_never_issued(serial: int, offset: int) -> None:
    (number,) = ids.ni_numbers(np.array([serial]), offset)
    assert ids.is_well_formed_ni_number(number)
    assert not ids.is_issuable_ni_number(number)


def test_synthetic_ni_numbers_are_distinct() -> None:
    serials = np.arange(200_000, dtype=np.int64)
    numbers = ids.ni_numbers(serials, offset=12345)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize(
    ("description", "text", "well_formed", "issuable"),
    [
        ("an allocated prefix", "AB123456C", True, True),
        ("spaced as on a card", "AB 12 34 56 C", True, True),
        ("a never-allocated prefix", "TN123456C", True, False),
        ("ZZ is used in examples", "ZZ123456A", True, False),
        ("D is never a first letter", "DA123456A", False, False),
        ("O is never a second letter", "AO123456A", False, False),
        ("suffix beyond D", "AB123456E", False, False),
        ("too short", "AB12345C", False, False),
    ],
)
def test_ni_number_checks(description: str, text: str, well_formed: bool, issuable: bool) -> None:
    assert ids.is_well_formed_ni_number(text) is well_formed, description
    assert ids.is_issuable_ni_number(text) is issuable, description


def test_the_upn_check_letter_matches_the_dfe_worked_example() -> None:
    # DfE's census guidance works through the digits 207000016049: a remainder of 13, letter P.
    assert ids.upn_check_letter("207000016049") == "P"
    assert ids.is_valid_upn("P207000016049")
    assert not ids.is_valid_upn("B207000016049")


@given(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 999))
def test_synthetic_upns_are_valid_with_an_la_code_no_school_has(
    establishment: int, year: int, serial: int
) -> None:
    upn = ids.upn(establishment, year, serial)
    assert ids.is_valid_upn(upn)
    assert upn[1:4] == ids.UPN_SYNTHETIC_LA
    assert not ids.is_real_la_code(upn[1:4])


@given(st.lists(st.integers(0, 10**12 - 1), max_size=30))
def test_bulk_upns_agree_with_one_at_a_time(bodies: list[int]) -> None:
    texts = ids.upn_texts(np.array(bodies, dtype=np.int64))
    assert texts == [ids.upn_check_letter(f"{b:012d}") + f"{b:012d}" for b in bodies]


@pytest.mark.parametrize(
    ("code", "real"), [("201", True), ("938", True), ("999", False), ("000", False)]
)
def test_real_la_codes(code: str, real: bool) -> None:
    assert ids.is_real_la_code(code) is real


@given(st.integers(0, ids.DRAMA_NUMBERS - 1))
def test_phone_numbers_are_from_ofcom_drama_ranges(index: int) -> None:
    number = ids.drama_phone(index)
    assert ids.is_drama_phone(number)
    assert ids.is_drama_phone("+44 " + number[1:])


def test_a_real_looking_phone_number_is_not_a_drama_number() -> None:
    assert not ids.is_drama_phone("020 7946 1234")
    assert not ids.is_drama_phone("07700 901000")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("NF3 4AB", True),
        ("NF12 1ZZ", True),
        ("SW1A 1AA", True),
        ("NF3 4CB", False),
        ("NF34AB", False),
    ],
)
def test_postcode_format(text: str, ok: bool) -> None:
    assert ids.is_well_formed_postcode(text) is ok


def test_synthetic_uprns() -> None:
    assert ids.is_synthetic_uprn(str(ids.UPRN_BASE + 17))
    assert not ids.is_synthetic_uprn("100023336956")
