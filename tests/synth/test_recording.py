"""Recording errors happen at the rates the settings give, and are really in the extracts."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import pytest

from kinfold.ingest.schema import ParsedRow, load_schemas
from kinfold.quarters import Quarter
from kinfold.synth import PARTNERS, generate, load_settings
from kinfold.synth.names import nicknames_of, strip_accents, variants_of
from tests.synth.conftest import Built

RATES = {
    "typo": 0.2,
    "nickname": 0.3,
    "variant": 0.2,
    "swapped_names": 0.1,
    "dob_transposed": 0.3,
    "dob_missing": 0.1,
    "stale_address": 0.5,
    "old_surname": 0.5,
    "duplicate": 0.1,
}


def fold(name: str) -> str:
    """Compare names as partners that write in capitals can (Turkish dotless i becomes I)."""
    return name.upper().casefold()


@dataclass(frozen=True)
class Row:
    """One extract row beside the truth about its person."""

    partner: str
    errors: frozenset[str]
    parsed: ParsedRow
    person: dict[str, str]
    duplicate: bool
    postcode: str  # where the person really lived that quarter
    earlier_postcodes: frozenset[str]  # where they lived in earlier quarters
    names: dict[
        str, str
    ]  # given_name, surname that quarter, and the surname before the last change

    def recorded(self, field: str) -> str:
        return fold(self.parsed.identity.values.get(field, ""))

    def true(self, column: str) -> str:
        """The person's name that quarter (persons.csv holds the latest; changes are undone)."""
        return fold(self.names[column])


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    """A small borough whose partners all make many mistakes, read back row by row."""
    folder = tmp_path_factory.mktemp("noisy")
    # Many couples forming and parting, so many surnames change for partners to record late.
    lines = [
        "[demography]",
        "partnering = 0.08",
        "woman_takes_surname = 0.9",
        "separation = [0.05, 0.05, 0.05]",
        "reverts_surname = 0.9",
        # and many adults claiming benefits, so those people appear in the DWP's extracts.
        "[indicators]",
        "claim_starts = [0.05, 0.05, 0.08]",
    ]
    for partner in PARTNERS:
        lines.append(f"[recording.{partner}]")
        lines.extend(f"{error} = {rate}" for error, rate in RATES.items())
    settings_file = folder / "noisy.toml"
    settings_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "borough"
    generate(out, residents=3000, quarters=6, seed=5, settings=load_settings(settings_file))
    built = Built(out, None)  # type: ignore[arg-type]
    persons = {row["person_id"]: row for row in built.truth("persons.csv")}
    records = {(r["quarter"], r["partner"], r["record_id"]): r for r in built.truth("records.csv")}
    postcode = {row["uprn"]: row["postcode"] for row in built.truth("homes.csv")}
    lived: dict[str, list[tuple[Quarter, Quarter, str]]] = defaultdict(list)
    for spell in built.truth("membership.csv"):
        span = (Quarter.parse(spell["from_quarter"]), Quarter.parse(spell["to_quarter"]))
        lived[spell["person_id"]].append((*span, postcode[spell["uprn"]]))

    changes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for change in built.truth("identity_changes.csv"):
        changes[change["person_id"]].append(change)

    def names(person: dict[str, str], quarter: Quarter) -> dict[str, str]:
        now = {"given_name": person["given_name"], "surname": person["surname"]}
        previous = person["previous_surname"]
        for change in reversed(changes[person["person_id"]]):
            if Quarter.parse(change["quarter"]) > quarter:
                now[change["field"]] = change["old"]
            elif change["field"] == "surname":
                previous = change["old"]
                break
        return {**now, "previous_surname": previous}

    def homes(person: str, quarter: Quarter) -> tuple[str, frozenset[str]]:
        now = next(p for first, last, p in lived[person] if first <= quarter <= last)
        return now, frozenset(p for first, _, p in lived[person] if first < quarter)

    rows = []
    for quarter in built.quarters():
        for partner, schema in load_schemas("config/schemas").items():
            for parsed in schema.read_file(quarter / schema.file):
                record = records[quarter.name, partner, parsed.record_id]
                errors = frozenset(e for e in record["errors"].split(";") if e)
                person = persons[record["person_id"]]
                now, before = homes(person["person_id"], Quarter.parse(quarter.name))
                rows.append(Row(partner, errors, parsed, person, bool(record["duplicate_of"]),
                                now, before, names(person, Quarter.parse(quarter.name))))  # fmt: skip
    return rows


def has(row: Row, error: str) -> bool:
    return any(e == error or e.startswith(error + "_") for e in row.errors)


def within(count: int, total: int, rate: float) -> bool:
    """Is `count` of `total` a plausible draw at `rate`? (four standard deviations)"""
    spread = 4 * math.sqrt(total * rate * (1 - rate)) + 2
    return abs(count - total * rate) <= spread


@pytest.mark.parametrize("error", ["typo", "swapped_names", "dob_missing"])
def test_errors_every_row_can_have_happen_at_their_rate(noisy: list[Row], error: str) -> None:
    count = sum(has(row, error) for row in noisy)
    assert len(noisy) > 3000
    assert within(count, len(noisy), RATES[error]), (error, count, len(noisy))


def test_day_and_month_are_swapped_at_their_rate_where_they_can_be(noisy: list[Row]) -> None:
    eligible = [
        row
        for row in noisy
        if (d := date.fromisoformat(row.person["dob"])).day <= 12 and d.day != d.month
    ]
    count = sum(has(row, "dob_transposed") for row in eligible)
    assert within(count, len(eligible), RATES["dob_transposed"])


def test_nicknames_are_used_at_their_rate_where_a_name_has_one(noisy: list[Row]) -> None:
    eligible = [
        row
        for row in noisy
        if nicknames_of(row.person["given_name"]) and not has(row, "old_surname")
    ]
    count = sum(has(row, "nickname") for row in eligible)
    assert len(eligible) > 300
    assert within(count, len(eligible), RATES["nickname"])


def test_rows_are_duplicated_at_their_rate(noisy: list[Row]) -> None:
    duplicates = sum(row.duplicate for row in noisy)
    assert within(duplicates, len(noisy) - duplicates, RATES["duplicate"])
    assert all("duplicate" in row.errors for row in noisy if row.duplicate)


def alone(noisy: list[Row], error: str) -> list[Row]:
    """Rows with exactly this one error, so the change can be checked against the truth."""
    return [row for row in noisy if row.errors == {error}]


def osa_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap neighbours) to turn a into b."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_typos_are_one_slip_of_the_keyboard(noisy: list[Row]) -> None:
    rows = alone(noisy, "typo_surname")
    assert len(rows) > 30
    for row in rows:
        assert osa_distance(row.recorded("surname"), row.true("surname")) == 1


def test_nicknames_are_familiar_forms(noisy: list[Row]) -> None:
    rows = alone(noisy, "nickname")
    assert len(rows) > 30
    for row in rows:
        assert row.recorded("given_name") in {
            fold(n) for n in nicknames_of(row.names["given_name"])
        }


def test_variants_are_other_spellings(noisy: list[Row]) -> None:
    rows = alone(noisy, "variant_given")
    assert len(rows) > 10
    for row in rows:
        name = row.names["given_name"]
        options = {fold(v) for v in variants_of(name)} | {fold(strip_accents(name))}
        assert row.recorded("given_name") in options


def test_swapped_names(noisy: list[Row]) -> None:
    rows = alone(noisy, "swapped_names")
    assert len(rows) > 30
    for row in rows:
        assert (row.recorded("given_name"), row.recorded("surname")) == (
            row.true("surname"),
            row.true("given_name"),
        )


def test_day_and_month_swapped(noisy: list[Row]) -> None:
    rows = alone(noisy, "dob_transposed")
    assert len(rows) > 30
    for row in rows:
        true = date.fromisoformat(row.person["dob"])
        assert row.parsed.identity.dates["dob"] == date(true.year, true.day, true.month)


def test_missing_dates_of_birth(noisy: list[Row]) -> None:
    rows = [row for row in noisy if "dob_missing" in row.errors]
    assert rows
    assert all("dob" not in row.parsed.identity.values for row in rows)
    clean = [row for row in noisy if not row.errors and "dob" in row.parsed.identity.values]
    for row in clean:
        assert row.parsed.identity.dates["dob"] == date.fromisoformat(row.person["dob"])


def test_old_surnames_after_a_change(noisy: list[Row]) -> None:
    rows = alone(noisy, "old_surname")
    assert len(rows) > 5
    for row in rows:
        changed_surname = row.recorded("surname") == row.true("previous_surname")
        assert changed_surname or row.recorded("surname") == row.true("surname")


def test_stale_addresses_are_where_the_person_lived_before(noisy: list[Row]) -> None:
    rows = [
        row for row in alone(noisy, "stale_address") if "postcode" in row.parsed.identity.values
    ]
    assert len(rows) > 30
    for row in rows:
        recorded = row.parsed.identity.values["postcode"]
        assert recorded in row.earlier_postcodes
    moved_away = sum(row.parsed.identity.values["postcode"] != row.postcode for row in rows)
    assert moved_away / len(rows) > 0.8  # a move may stay inside one postcode
