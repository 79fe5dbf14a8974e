"""Encoding: deterministic for a secret, different across secrets, nothing readable in the output."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfold.errors import ConfigError, InputError
from kinfold.linkage import (
    ColumnMap,
    EncodedTable,
    EncodeReport,
    Settings,
    encode,
    key_id,
    new_secret,
    read_secret,
)
from tests.linkage.conftest import LEFT_PEOPLE, OTHER_SECRET, PEOPLE_MAP, SECRET, encode_rows


def _same(a: EncodedTable, b: EncodedTable) -> bool:
    return (
        a.record_ids.tolist() == b.record_ids.tolist()
        and all(np.array_equal(a.filters[f], b.filters[f]) for f in a.filters)
        and all(np.array_equal(a.tokens[t], b.tokens[t]) for t in a.tokens)
        and np.array_equal(a.blocking, b.blocking)
    )


def test_encoding_is_deterministic_for_a_secret() -> None:
    first, second = encode_rows(LEFT_PEOPLE), encode_rows(list(LEFT_PEOPLE))
    assert _same(first, second)
    assert first.to_bytes() == second.to_bytes()


def test_encodings_differ_across_secrets() -> None:
    mine, theirs = encode_rows(LEFT_PEOPLE), encode_rows(LEFT_PEOPLE, secret=OTHER_SECRET)
    for field in ("given_name", "surname", "dob", "address", "postcode"):
        assert not np.array_equal(mine.filters[field], theirs.filters[field]), field
    assert not np.array_equal(mine.blocking, theirs.blocking)
    assert mine.header.key_id != theirs.header.key_id


def test_the_same_value_encodes_the_same_way_in_any_row() -> None:
    rows = [
        dict(LEFT_PEOPLE[0], ref="A"),
        dict(LEFT_PEOPLE[1], ref="B"),
        dict(LEFT_PEOPLE[0], ref="C"),
    ]
    table = encode_rows(rows)
    assert np.array_equal(table.filters["surname"][0], table.filters["surname"][2])
    assert not np.array_equal(table.filters["surname"][0], table.filters["surname"][1])


def test_recording_differences_encode_identically() -> None:
    rows = [
        {
            "ref": "1",
            "forename": "Zoë",
            "surname": "O'Brien",
            "dob": "1988-08-08",
            "sex": "F",
            "address": "12 High St.",
            "postcode": "NF1 2AB",
        },
        {
            "ref": "2",
            "forename": " ZOE ",
            "surname": "OBRIEN",
            "dob": "1988-08-08",
            "sex": "Female",
            "address": "12 high street",
            "postcode": "nf12ab",
        },
    ]
    table = encode_rows(rows)
    for field in table.filters:
        assert np.array_equal(table.filters[field][0], table.filters[field][1]), field


def test_missing_values_are_not_errors_and_encode_as_empty() -> None:
    rows = [
        {
            "ref": "1",
            "forename": "",
            "surname": "Smith",
            "dob": "",
            "sex": "",
            "address": "",
            "postcode": "",
        }
    ]
    table = encode_rows(rows)
    assert table.popcount("given_name")[0] == 0
    assert table.popcount("dob")[0] == 0
    assert table.popcount("surname")[0] > 0


def test_bloom_filters_set_about_the_expected_number_of_bits() -> None:
    table = encode_rows(LEFT_PEOPLE)
    bits = Settings.default().fields["surname"]
    for row, person in enumerate(LEFT_PEOPLE):
        grams = len(person["surname"]) + 1  # padded bigrams
        assert 0.6 * grams * bits.hashes <= table.popcount("surname")[row] <= grams * bits.hashes


names = st.text(
    alphabet=st.characters(min_codepoint=65, max_codepoint=0x24F), min_size=4, max_size=16
)


def _searchable_members(data: bytes) -> bytes:
    """The data of every array in the file except the JSON header (checked separately) and the
    record ids. Each member's ``.npy`` preamble (its text reads ``'fortran_order': False`` …)
    is checked to be the one NumPy writes for that dtype and shape, so it holds nothing else."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name in {"header.npy", "ids.npy"}:
                continue
            raw = archive.read(name)
            array = np.load(io.BytesIO(raw), allow_pickle=False)
            blank = io.BytesIO()
            np.save(blank, np.zeros_like(array))
            preamble = len(raw) - array.nbytes
            assert raw[:preamble] == blank.getvalue()[:preamble]
            found.append(array.tobytes())
    return b"".join(found)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given_name=names, surname=names, address=names)
def test_no_plaintext_appears_in_the_encoded_file(
    given_name: str, surname: str, address: str
) -> None:
    row = {
        "ref": "r1",
        "forename": given_name,
        "surname": surname,
        "dob": "1970-01-01",
        "sex": "F",
        "address": address + " Road",
        "postcode": "NF1 2AB",
    }
    data = encode_rows([row]).to_bytes()
    body = _searchable_members(data)
    for value in (given_name, surname, address):
        for form in {value, value.lower(), value.upper(), value.casefold()}:
            for encoding in ("utf-8", "utf-16-le", "utf-32-le"):
                assert form.encode(encoding) not in body
    for raw in (b"19700101", b"1970-01-01", b"NF1 2AB", b"nf12ab"):
        assert raw not in body


@given(names, names)
@settings(max_examples=20, deadline=None)
def test_the_header_says_nothing_about_the_records(first: str, second: str) -> None:
    def header(name: str) -> dict[str, object]:
        row = {
            "ref": "r1",
            "forename": name,
            "surname": name,
            "dob": "",
            "sex": "",
            "address": name,
            "postcode": "",
        }
        with np.load(io.BytesIO(encode_rows([row]).to_bytes()), allow_pickle=False) as archive:
            loaded: dict[str, object] = json.loads(archive["header"].tobytes().decode())
        return loaded

    assert header(first) == header(second)


def test_files_round_trip(tmp_path: Path) -> None:
    table = encode_rows(LEFT_PEOPLE, source="police")
    table.write(tmp_path / "police.kfe")
    back = EncodedTable.read(tmp_path / "police.kfe")
    assert _same(table, back)
    assert back.header == table.header
    assert back.source == "police"


def test_a_file_that_is_not_an_encoded_table_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.kfe").write_text("given_name,surname\n")
    with pytest.raises(InputError, match=r"x.kfe: is not a kinfold encoded file"):
        EncodedTable.read(tmp_path / "x.kfe")


@pytest.mark.parametrize(
    ("hardening", "factor"), [("none", 1.0), ("balance", 2.0), ("xor-fold", 0.5)]
)
def test_hardening_is_a_setting(tmp_path: Path, hardening: str, factor: float) -> None:
    (tmp_path / "s.toml").write_text(f'[encoding]\nhardening = "{hardening}"\n')
    chosen = Settings.load(tmp_path / "s.toml")
    table = encode(LEFT_PEOPLE, PEOPLE_MAP, SECRET, chosen)
    plain = Settings.default().fields["address"].bits
    assert table.filters["address"].shape[1] * 64 == int(plain * factor)
    if hardening == "balance":  # every balanced filter is exactly half ones
        assert (table.popcount("address") == plain).all()
    assert table.header.fingerprint != Settings.default().encoding_fingerprint() or factor == 1


def test_salting_by_year_of_birth_separates_the_same_name_in_different_years(
    tmp_path: Path,
) -> None:
    (tmp_path / "s.toml").write_text('[encoding]\nsalt = "year-of-birth"\n')
    salted = Settings.load(tmp_path / "s.toml")
    rows = [
        dict(LEFT_PEOPLE[0], ref="a"),
        dict(LEFT_PEOPLE[0], ref="b", dob="1981-03-14"),
        dict(LEFT_PEOPLE[0], ref="c", dob="1980-12-01"),
    ]
    table = encode(rows, PEOPLE_MAP, SECRET, salted)
    surname = table.filters["surname"]
    assert not np.array_equal(surname[0], surname[1])  # other year: other filter
    assert np.array_equal(surname[0], surname[2])  # same year: same filter
    postcode = table.filters["postcode"]  # not a salted field: unchanged across years
    assert np.array_equal(postcode[0], postcode[1])


BAD_ROWS = [
    {
        "ref": "1",
        "forename": "Ann",
        "surname": "Lee",
        "dob": "31/02/1980",
        "sex": "F",
        "address": "",
        "postcode": "",
    },
    {
        "ref": "2",
        "forename": "Bob",
        "surname": "Lee",
        "dob": "1980-01-01",
        "sex": "Q",
        "address": "",
        "postcode": "",
    },
    {
        "ref": "3",
        "forename": "Cat",
        "surname": "Lee",
        "dob": "1980-01-02",
        "sex": "F",
        "address": "",
        "postcode": "",
    },
]


def test_a_bad_value_stops_encoding_with_file_row_and_column() -> None:
    with pytest.raises(
        InputError, match=r"^in.csv, row 2, field 'dob': '31/02/1980' is not a date"
    ):
        encode(BAD_ROWS, PEOPLE_MAP, SECRET, file="in.csv")


def test_bad_rows_are_skipped_and_reported_only_when_asked() -> None:
    report = EncodeReport()
    table = encode(BAD_ROWS, PEOPLE_MAP, SECRET, bad_values="skip-row", report=report)
    assert table.record_ids.tolist() == ["3"]
    assert [(b.row, b.column) for b in report.skipped_rows] == [(2, "dob"), (3, "sex")]
    assert report.records == 1


def test_bad_values_can_be_blanked_and_reported_instead() -> None:
    report = EncodeReport()
    table = encode(BAD_ROWS, PEOPLE_MAP, SECRET, bad_values="blank", report=report)
    assert table.record_ids.tolist() == ["1", "2", "3"]
    assert table.popcount("dob")[0] == 0
    assert table.popcount("sex")[1] == 0
    assert [(b.row, b.column) for b in report.blanked_values] == [(2, "dob"), (3, "sex")]


def test_a_repeated_record_id_is_a_bad_row() -> None:
    rows = [dict(LEFT_PEOPLE[0]), dict(LEFT_PEOPLE[1], ref=LEFT_PEOPLE[0]["ref"])]
    with pytest.raises(
        InputError, match="row 3, field 'ref': the record id 'L1' is used by an earlier"
    ):
        encode(rows, PEOPLE_MAP, SECRET)
    report = EncodeReport()
    assert len(encode(rows, PEOPLE_MAP, SECRET, bad_values="skip-row", report=report)) == 1


def test_a_mapped_column_missing_from_the_rows_is_named() -> None:
    column_map = ColumnMap.parse("given_name=FIRST,surname=surname,id=ref")
    with pytest.raises(InputError, match="row 1, field 'FIRST': has no column 'FIRST'"):
        encode(LEFT_PEOPLE, column_map, SECRET)


def test_without_an_id_column_rows_are_numbered_like_the_file() -> None:
    table = encode(LEFT_PEOPLE[:2], ColumnMap.parse("surname=surname"), SECRET)
    assert table.record_ids.tolist() == ["2", "3"]


def test_secrets_come_from_files_and_must_be_long_enough(tmp_path: Path) -> None:
    (tmp_path / "good.key").write_bytes(new_secret())
    (tmp_path / "short.key").write_bytes(b"too short")
    assert len(read_secret(tmp_path / "good.key")) == 32
    with pytest.raises(ConfigError, match=r"short\.key: the linkage secret must be at least 16"):
        read_secret(tmp_path / "short.key")
    with pytest.raises(ConfigError, match="secret file not found"):
        read_secret(tmp_path / "absent.key")
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        encode(LEFT_PEOPLE, PEOPLE_MAP, b"short")


def test_the_key_id_names_a_secret_without_revealing_it() -> None:
    assert key_id(SECRET) == key_id(bytes(SECRET))
    assert key_id(SECRET) != key_id(OTHER_SECRET)
    assert SECRET.hex()[:8] not in key_id(SECRET)


def test_an_empty_row_set_encodes_to_an_empty_table() -> None:
    table = encode([], PEOPLE_MAP, SECRET)
    assert len(table) == 0
    assert table.filters["surname"].shape == (0, 4)
    assert len(EncodedTable.from_bytes(table.to_bytes())) == 0


def test_encoding_in_worker_processes_gives_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import kinfold.linkage._encode as workings

    rows = [dict(p, ref=f"{p['ref']}-{n}") for n in range(40) for p in LEFT_PEOPLE]
    alone = encode(rows, PEOPLE_MAP, SECRET)
    monkeypatch.setattr(workings, "PARALLEL_ENCODE_FROM", 10)  # a small table, real workers
    together = encode(rows, PEOPLE_MAP, SECRET, workers=2)
    assert _same(alone, together)
    assert together.record_ids.tolist() == alone.record_ids.tolist()


@pytest.mark.parametrize("hardening", ["none", "balance", "xor-fold"])
@given(
    values=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz -'éáöłő", min_size=1, max_size=24),
        min_size=1,
        max_size=40,
    )
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_letter_pair_filters_made_at_once_equal_one_value_at_a_time(
    hardening: str, values: list[str]
) -> None:
    from kinfold.linkage._bloom import FieldFilter, qgrams
    from kinfold.linkage._settings import FieldSettings

    field = FieldSettings(
        bits=512, hashes=15, weight=1.0, thresholds=(0.9,), term_frequency=False, salted=False
    )
    at_once = FieldFilter(SECRET, "surname", field, hardening).bigram_rows(values)
    plain = FieldFilter(SECRET, "surname", field, hardening)
    one_by_one = plain.rows([plain.mask(qgrams(v, 2)) for v in values])
    assert at_once.shape == one_by_one.shape
    assert np.array_equal(at_once, one_by_one)
