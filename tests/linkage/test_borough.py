"""The synthetic borough: a quarter of every partner's extract resolved into persons, as the hub
does it, then the next quarter against the person index: accurate, and people keep their ids."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest

from kinfold.cli import main
from kinfold.linkage import (
    ColumnMap,
    EncodedTable,
    PersonIndex,
    Resolution,
    cluster_accuracy,
    encode,
    read_rows,
    resolve_persons,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "config" / "schemas"
SECRET = b"borough-test-secret-0123456789"
#: What this sample (4,000 residents) reaches; docs/benchmarks.md has the full-size figures.
TARGET_F1 = 0.98


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SCHEMAS.is_dir():
        pytest.skip("the partners' extract schemas (config/schemas) are not here")
    out = tmp_path_factory.mktemp("borough") / "northfield"
    assert main(["synth", "--preset", "test", "--quarters", "2", "--out", str(out)]) == 0
    return out


def _quarter(borough: Path, quarter: str) -> list[EncodedTable]:
    tables = []
    for path in sorted(SCHEMAS.glob("*.toml")):
        schema = tomllib.loads(path.read_text("utf-8"))
        extract = borough / "extracts" / quarter / schema["partner"]["file"]
        if not extract.exists():
            continue
        column_map = ColumnMap.from_dict(
            schema["identity"], record_id=schema["partner"]["record_id"]
        )
        rows = read_rows(extract, column_map, allow_no_rows=True)
        tables.append(
            encode(rows, column_map, SECRET, source=schema["partner"]["id"], bad_values="blank")
        )
    return tables


def _truth(borough: Path, quarter: str) -> dict[tuple[str, str], str]:
    with (borough / "truth" / "records.csv").open(newline="", encoding="utf-8") as handle:
        return {
            (r["partner"], r["record_id"]): r["person_id"]
            for r in csv.DictReader(handle)
            if r["quarter"] == quarter
        }


@pytest.fixture(scope="module")
def quarters(borough: Path) -> tuple[Resolution, Resolution]:
    first = resolve_persons(_quarter(borough, "2015Q2"), PersonIndex.new(), quarter="2015Q2")
    stored = PersonIndex.from_bytes(first.index.to_bytes())
    second = resolve_persons(_quarter(borough, "2015Q3"), stored, quarter="2015Q3")
    return first, second


@pytest.mark.parametrize(("position", "quarter"), [(0, "2015Q2"), (1, "2015Q3")])
def test_each_quarter_resolves_persons_accurately(
    borough: Path, quarters: tuple[Resolution, Resolution], position: int, quarter: str
) -> None:
    found = quarters[position].persons
    truth = _truth(borough, quarter)
    assert set(found) == set(truth)
    accuracy = cluster_accuracy(found, truth)
    assert accuracy.f1 >= TARGET_F1, accuracy


def test_people_keep_their_person_id_into_the_next_quarter(
    borough: Path, quarters: tuple[Resolution, Resolution]
) -> None:
    first, second = quarters
    before, after = _truth(borough, "2015Q2"), _truth(borough, "2015Q3")
    ids_before: dict[str, set[str]] = {}
    for record, person in first.persons.items():
        ids_before.setdefault(before[record], set()).add(person)
    ids_after: dict[str, set[str]] = {}
    for record, person in second.persons.items():
        ids_after.setdefault(after[record], set()).add(person)
    both = set(ids_before) & set(ids_after)
    assert len(both) > 500
    kept = sum(1 for p in both if ids_before[p] & ids_after[p])
    assert kept / len(both) >= 0.995
    assert set(second.new_persons).isdisjoint(first.persons.values())
