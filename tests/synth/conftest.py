"""A small synthetic borough built once per test session, and readers for its files."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from kinfold.synth import PRESETS, GenerateResult, generate


@dataclass(frozen=True)
class Built:
    """A generated borough: where it is and what generate() said about it."""

    path: Path
    result: GenerateResult

    def truth(self, name: str) -> list[dict[str, str]]:
        """All rows of a truth file."""
        return list(read_csv(self.path / "truth" / name))

    def quarters(self) -> list[Path]:
        return sorted((self.path / "extracts").iterdir())


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield from csv.DictReader(handle)


@pytest.fixture(scope="session")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The `test` preset (4,000 residents, 8 quarters from 2015Q2), extracts and truth."""
    out = tmp_path_factory.mktemp("synth") / "borough"
    return Built(out, generate(out, **asdict(PRESETS["test"])))
