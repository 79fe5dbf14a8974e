"""Names for the synthetic borough, and the nickname and spelling-variant groups recording errors use.

The lists live in ``kinfold/synth/data/`` (given_names.txt, surnames.txt, feminine_surnames.txt,
nicknames.txt, variants.txt). ``nickname_groups()`` and ``variant_groups()`` are the public way to
read the groups; linkage may also read ``data/nicknames.txt`` directly (same format as its own).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

_DATA = "kinfold.synth.data"
# Letters NFKD does not decompose into a base letter and an accent.
_PLAIN = str.maketrans(
    {
        "\u0142": "l",
        "\u0141": "L",
        "\u0131": "i",
        "\u00f8": "o",
        "\u00d8": "O",
        "\u00df": "ss",
        "\u0111": "d",
    }
)


def _data_lines(name: str) -> list[str]:
    text = resources.files(_DATA).joinpath(name).read_text("utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def name_key(name: str) -> str:
    """How names are compared in the groups: lower case, composed accents."""
    return unicodedata.normalize("NFC", name).lower()


def strip_accents(name: str) -> str:
    """A name as an English keyboard would record it: Łukasz → Lukasz, Şahin → Sahin."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _groups(file: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(name_key(n) for n in line.split()) for line in _data_lines(file))


@lru_cache(maxsize=1)
def nickname_groups() -> tuple[tuple[str, ...], ...]:
    """Nickname groups, formal name first then familiar forms, lower case (data/nicknames.txt)."""
    return _groups("nicknames.txt")


@lru_cache(maxsize=1)
def variant_groups() -> tuple[tuple[str, ...], ...]:
    """Groups of spellings of one name, including anglicisations (data/variants.txt)."""
    return _groups("variants.txt")


def _alternatives(groups: tuple[tuple[str, ...], ...]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for group in groups:
        for name in group:
            others = found.setdefault(name, [])
            others.extend(n for n in group if n != name and n not in others)
    return {name: tuple(others) for name, others in found.items()}


@lru_cache(maxsize=1)
def _nickname_alternatives() -> dict[str, tuple[str, ...]]:
    return _alternatives(nickname_groups())


@lru_cache(maxsize=1)
def _variant_alternatives() -> dict[str, tuple[str, ...]]:
    return _alternatives(variant_groups())


def nicknames_of(name: str) -> tuple[str, ...]:
    """The other names in `name`'s nickname groups (lower case); empty when it has none."""
    return _nickname_alternatives().get(name_key(name), ())


def variants_of(name: str) -> tuple[str, ...]:
    """Other spellings of `name` (lower case), not counting the one that only drops its accents."""
    return _variant_alternatives().get(name_key(name), ())


def as_recorded(template: str, name: str) -> str:
    """`name` in the same casing style as `template` (Title, UPPER or lower)."""
    if template.isupper():
        return name.upper()
    if template.islower():
        return name.lower()
    return name[:1].upper() + name[1:] if name.islower() else name


@dataclass(frozen=True)
class NamePool:
    """Names of one origin and sex (or one origin's surnames): table indices and their weights."""

    indices: NDArray[np.int32]
    weights: NDArray[np.float64]

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.int32]:
        """`size` names drawn by frequency (weights fall with rank in the data file)."""
        return self.indices[rng.choice(len(self.indices), size=size, p=self.weights)]


def _rank_weights(count: int) -> NDArray[np.float64]:
    # Frequencies of names fall roughly as 1/rank; the offset stops the first few dominating.
    weights: NDArray[np.float64] = 1.0 / (np.arange(count, dtype=np.float64) + 3.0)
    return weights / float(weights.sum())


class NameBank:
    """Every name the borough uses, in two tables (given names, surnames) that people index into.

    Storing a person's name as an index keeps the population in numpy arrays; strings are made only
    when an extract or truth file is written.
    """

    def __init__(self) -> None:
        self.given: list[str] = []
        self.surnames: list[str] = []
        self._given_index: dict[str, int] = {}
        self._surname_index: dict[str, int] = {}
        self.given_pools: dict[tuple[str, int], NamePool] = {}
        self.surname_pools: dict[str, NamePool] = {}
        self._read_given()
        self._read_surnames()
        self.feminine = np.arange(len(self.surnames), dtype=np.int32)
        self.women_only: dict[str, tuple[float, NamePool]] = {}
        self._read_feminine()
        self.origins = tuple(sorted(self.surname_pools))
        # The tables as numpy arrays of strings, for looking up many names at once.
        self.given_table = np.array(self.given, dtype=object)
        self.surname_table = np.array(self.surnames, dtype=object)
        # The masculine form of each surname; -1 where a man would not carry it (Begum, Kaur).
        self.masculine = np.arange(len(self.surnames), dtype=np.int32)
        female_forms = self.feminine != np.arange(len(self.surnames))
        self.masculine[self.feminine[female_forms]] = np.flatnonzero(female_forms)
        for _share, pool in self.women_only.values():
            self.masculine[pool.indices] = -1
        for index in np.flatnonzero(female_forms).tolist():
            if self.surnames[self.feminine[index]] == "Kaur":
                self.masculine[self.feminine[index]] = -1

    def _add(self, table: list[str], index: dict[str, int], name: str) -> int:
        if name not in index:
            index[name] = len(table)
            table.append(name)
        return index[name]

    def _read_given(self) -> None:
        for line in _data_lines("given_names.txt"):
            head, names = line.split(":", 1)
            origin, sex = head.split()
            ids = [self._add(self.given, self._given_index, n) for n in names.split()]
            code = 1 if sex == "M" else 0
            pool = NamePool(np.array(ids, dtype=np.int32), _rank_weights(len(ids)))
            self.given_pools[origin, code] = pool

    def _read_surnames(self) -> None:
        for line in _data_lines("surnames.txt"):
            origin, names = line.split(":", 1)
            ids = [self._add(self.surnames, self._surname_index, n) for n in names.split()]
            pool = NamePool(np.array(ids, dtype=np.int32), _rank_weights(len(ids)))
            self.surname_pools[origin.strip()] = pool

    def _read_feminine(self) -> None:
        for line in _data_lines("feminine_surnames.txt"):
            kind, rest = line.split(None, 1)
            if kind == "suffix":
                origin, masculine, feminine = rest.split()
                self._feminine_suffix(origin, masculine.lstrip("-"), feminine.lstrip("-"))
            elif kind == "name":
                _origin, masculine, feminine = rest.split()
                index = self._add(self.surnames, self._surname_index, feminine)
                self._grow_feminine()
                self.feminine[self._surname_index[masculine]] = index
            elif kind == "women":
                head, names = rest.split(":", 1)
                origin, share = head.split()
                ids = [self._add(self.surnames, self._surname_index, n) for n in names.split()]
                self._grow_feminine()
                pool = NamePool(np.array(ids, dtype=np.int32), _rank_weights(len(ids)))
                self.women_only[origin] = (float(share), pool)

    def _grow_feminine(self) -> None:
        grown = np.arange(len(self.surnames), dtype=np.int32)
        grown[: len(self.feminine)] = self.feminine
        self.feminine = grown

    def _feminine_suffix(self, origin: str, masculine: str, feminine: str) -> None:
        for index in self.surname_pools[origin].indices.tolist():
            name = self.surnames[index]
            if name.endswith(masculine):
                female = self._add(
                    self.surnames, self._surname_index, name[: -len(masculine)] + feminine
                )
                self._grow_feminine()
                self.feminine[index] = female

    def surname_for(
        self, surname: NDArray[np.int32], female: NDArray[np.bool_]
    ) -> NDArray[np.int32]:
        """The form of each surname a person of that sex carries (Kowalski → Kowalska for women)."""
        return np.where(female, self.feminine[surname], surname).astype(np.int32)

    def given_index(self, name: str) -> int:
        """The table index of a given name in the data files."""
        return self._given_index[name]


@lru_cache(maxsize=1)
def name_bank() -> NameBank:
    """The borough's names, read once per process."""
    return NameBank()
