"""Normalising: recording habits (case, accents, punctuation, spacing, formats) must not matter."""

from __future__ import annotations

import pytest

from kinfold.linkage import _normalise as norm


@pytest.mark.parametrize(
    ("description", "raw", "expected"),
    [
        ("case and spacing", "  JOHN  ", ("john", "john")),
        ("accents", "Zoë", ("zoe", "zoe")),
        ("hyphenated", "Mary-Jane", ("maryjane", "mary")),
        ("title dropped", "Mr. John Paul", ("johnpaul", "john")),
        ("a title alone is kept", "Miss", ("miss", "miss")),
        ("nothing but punctuation", " - . ", ("", "")),
        ("ligature", "Æthelred", ("aethelred", "aethelred")),
    ],
)
def test_given_names(description: str, raw: str, expected: tuple[str, str]) -> None:
    assert norm.given_name(raw) == expected, description


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien", "obrien"),
        ("O\u2019Brien", "obrien"),
        ("SMITH-JONES", "smithjones"),
        ("van der Berg", "vanderberg"),
        ("Müller", "muller"),
        ("Strauß", "strauss"),
    ],
)
def test_surnames(raw: str, expected: str) -> None:
    assert norm.surname(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12 High St.", "12 high street"),
        ("Flat 2, 9 Park Ave", "flat 2 9 park avenue"),
        ("Apt 2 9 PARK AVENUE", "flat 2 9 park avenue"),
        ("7 Church Rd", "7 church road"),
        ("  4   Mill   Lane ", "4 mill lane"),
    ],
)
def test_addresses(raw: str, expected: str) -> None:
    assert norm.address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "compact", "district", "sector"),
    [
        ("NF1 2AB", "nf12ab", "nf1", "nf12"),
        ("nf12ab", "nf12ab", "nf1", "nf12"),
        ("SW1A 1AA", "sw1a1aa", "sw1a", "sw1a1"),
        ("4223", "4223", "4223", "4223"),
    ],
)
def test_postcodes(raw: str, compact: str, district: str, sector: str) -> None:
    assert norm.postcode(raw) == compact
    assert norm.postcode_district(compact) == district
    assert norm.postcode_sector(compact) == sector


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("M", "m"),
        ("m", "m"),
        ("Male", "m"),
        ("MALE", "m"),
        ("1", "m"),
        ("F", "f"),
        ("Female", "f"),
        ("2", "f"),
        ("", ""),
        ("U", ""),
        ("Not known", ""),
        ("9", ""),
    ],
)
def test_sex_in_every_usual_form(raw: str, expected: str) -> None:
    assert norm.sex(raw) == expected


def test_an_unreadable_sex_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="is not a sex"):
        norm.sex("Q")


@pytest.mark.parametrize(
    ("raw", "fmt", "expected"),
    [
        ("14/03/1985", "%d/%m/%Y", "19850314"),
        ("1985-03-14", "%Y-%m-%d", "19850314"),
        ("31120", "excel", "19850314"),
        ("  ", "%Y-%m-%d", ""),
    ],
)
def test_dates_of_birth(raw: str, fmt: str, expected: str) -> None:
    assert norm.dob(raw, fmt) == expected


def test_an_unparseable_date_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a date in the format"):
        norm.dob("14/13/1985", "%d/%m/%Y")


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("nhs_number", "943 476 5919", "9434765919"),
        ("ni_number", "qq 12 34 56 c", "QQ123456C"),
        ("upn", "a123-456-789-012", "A123456789012"),
        ("uprn", "000100023336956", "100023336956"),
    ],
)
def test_reference_numbers(field: str, raw: str, expected: str) -> None:
    assert norm.reference(field, raw) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("bill", "william"),
        ("kate", "catherine"),
        ("peggy", "margaret"),
        ("jim", "jamie"),
        ("livvy", "olivia"),
        ("bally", "balwinder"),
        ("seun", "oluwaseun"),
        ("kasia", "katarzyna"),
        ("shivaun", "siobhan"),
        ("muhammad", "mohammed"),
        ("jakub", "jacob"),
        ("huseyin", "hussain"),
    ],
)
def test_nicknames_and_variants_share_a_group(a: str, b: str) -> None:
    assert set(norm.nicknames(a)) & set(norm.nicknames(b))


def test_unrelated_names_share_no_group() -> None:
    assert not set(norm.nicknames("john")) & set(norm.nicknames("william"))
    assert norm.nicknames("zebedee") == ("zebedee",)
    assert norm.nicknames("") == ()


def test_the_nickname_file_is_lower_case_letters_only() -> None:
    groups = norm.nickname_groups()
    assert len(groups) > 300
    assert all(name.isascii() and name.isalpha() and name.islower() for name in groups)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("smith", "smyth", True),
        ("catherine", "katherine", True),
        ("knight", "night", True),
        ("philip", "filip", True),
        ("robert", "rupert", True),
        ("smith", "jones", False),
        ("ashcraft", "ashcroft", True),
    ],
)
def test_sound_codes(a: str, b: str, same: bool) -> None:
    assert (norm.phonetic(a) == norm.phonetic(b)) is same


def test_soundex_classics() -> None:
    assert [norm.phonetic(n) for n in ("robert", "tymczak", "pfister", "ashcraft")] == [
        "r163",
        "t522",
        "p236",
        "a261",
    ]
