"""The same seed and settings give byte-identical files; the truth does not depend on extracts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kinfold.synth import generate

SMALL = {"residents": 2000, "quarters": 4}


def digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("det") / "one"
    generate(out, seed=11, **SMALL)
    return digests(out)


def test_the_same_seed_gives_the_same_bytes(first: dict[str, str], tmp_path: Path) -> None:
    generate(tmp_path / "two", seed=11, **SMALL)
    assert digests(tmp_path / "two") == first
    assert any(name.endswith(".xlsx") for name in first)  # the workbook too


def test_another_seed_gives_another_borough(first: dict[str, str], tmp_path: Path) -> None:
    generate(tmp_path / "other", seed=12, **SMALL)
    other = digests(tmp_path / "other")
    assert set(other) == set(first)
    assert other["truth/persons.csv"] != first["truth/persons.csv"]


def test_the_truth_is_the_same_without_extracts(first: dict[str, str], tmp_path: Path) -> None:
    generate(tmp_path / "truth-only", seed=11, extracts=False, **SMALL)
    alone = digests(tmp_path / "truth-only")
    assert not any(name.startswith("extracts/") for name in alone)
    # records.csv differs: without extracts there are no duplicates and no recording errors.
    for name in alone:
        if name.startswith("truth/") and name != "truth/records.csv":
            assert alone[name] == first[name], name


def test_a_rerun_replaces_the_previous_borough(tmp_path: Path) -> None:
    out = tmp_path / "again"
    generate(out, seed=1, residents=500, quarters=3)
    generate(out, seed=1, residents=500, quarters=2)
    assert sorted(p.name for p in (out / "extracts").iterdir()) == ["2015Q2", "2015Q3"]
    assert not (tmp_path / ".again.partial").exists()
