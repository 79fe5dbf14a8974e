"""Northfield's homes (with UPRNs, addresses and postcodes) and its schools."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kinfold.synth._settings import Settings
from kinfold.synth._tables import Table
from kinfold.synth.identifiers import POSTCODE_UNIT_LETTERS, UPRN_BASE

TENURES = ("social_rent", "private_rent", "owner")
SOCIAL_RENT = 0
DISTRICTS = 9
# A postcode unit covers about this many homes, as real ones do (15 on average).
HOMES_PER_POSTCODE = 14
# Houses per street and flats per block, so streets and blocks look like real ones.
HOUSES_PER_STREET = 60
FLATS_PER_BLOCK = 40


def _place_lists() -> dict[str, list[str]]:
    text = resources.files("kinfold.synth.data").joinpath("places.txt").read_text("utf-8")
    lists: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, values = line.split(":", 1)
            lists[key.strip()] = [v.strip() for v in values.split("|")]
    return lists


@dataclass
class _Street:
    name: str
    district: int
    next_house: int = 1
    block: int = -1  # the building whose flats are being filled
    block_fill: int = FLATS_PER_BLOCK


class Places:
    """Homes and schools. Homes are a Table keyed by `uprn`; strings are rendered when written."""

    def __init__(self, settings: Settings, rng: np.random.Generator) -> None:
        lists = _place_lists()
        self.area = settings.borough.postcode_area
        self.borough = settings.borough.name
        self.areas = lists["areas"]
        self._stems = lists["stems"]
        self._kinds = lists["kinds"]
        self._building_kinds = lists["buildings"]
        self._school_stems = lists["schools"]
        self._tenure = np.array(
            [getattr(settings.households.tenure, t) for t in TENURES], dtype=np.float64
        )
        self._flats = settings.borough.flats
        self.streets: list[_Street] = []
        self.buildings: list[str] = []
        self.postcodes: list[str] = []
        self._postcode_fill = HOMES_PER_POSTCODE
        self._postcode_next: dict[int, int] = {}
        self._postcode_index: dict[tuple[int, int], int] = {}
        self._address_cache: dict[int, NDArray[Any]] = {}
        self._postcode_table: NDArray[Any] = np.zeros(0, dtype=object)
        self.homes = Table(
            "uprn",
            {
                "uprn": np.zeros(0, np.int64),
                "street": np.zeros(0, np.int32),
                "number": np.zeros(0, np.int32),
                "building": np.zeros(0, np.int32),
                "flat": np.zeros(0, np.int32),
                "postcode": np.zeros(0, np.int32),
                "district": np.zeros(0, np.int8),
                "tenure": np.zeros(0, np.int8),
                "occupied": np.zeros(0, np.bool_),
            },
        )
        self._rng = rng

    # -- homes ---------------------------------------------------------------------------------

    def build(self, count: int) -> None:
        """Add `count` empty homes: houses along streets and flats in blocks, in all districts."""
        rows: dict[str, list[int]] = {k: [] for k in self.homes.columns}
        # Homes are never demolished, so a home's position and UPRN stay in step.
        first = UPRN_BASE + 1 + len(self.homes)
        flats = self._rng.random(count) < self._flats
        tenure = self._rng.choice(3, size=count, p=self._tenure)
        for i in range(count):
            street = self._street_with_room()
            if flats[i]:
                building, flat_numbers = self._block(street)
                rows["building"].append(building)
                rows["flat"].append(flat_numbers)
                rows["number"].append(self.streets[street].next_house - 1)
            else:
                rows["building"].append(-1)
                rows["flat"].append(0)
                rows["number"].append(self.streets[street].next_house)
                self.streets[street].next_house += 1
            rows["street"].append(street)
            rows["postcode"].append(self._postcode(self.streets[street].district))
            rows["district"].append(self.streets[street].district)
        rows["uprn"] = list(range(first, first + count))
        rows["tenure"] = tenure.tolist()
        rows["occupied"] = [False] * count
        self.homes.append({k: np.array(v) for k, v in rows.items()})

    def _street_with_room(self) -> int:
        if not self.streets or self._rng.random() < 1 / HOUSES_PER_STREET:
            district = int(self._rng.integers(DISTRICTS))
            name = self._new_street_name()
            self.streets.append(_Street(name, district))
        return len(self.streets) - 1 if self._rng.random() < 0.5 else self._random_street()

    def _random_street(self) -> int:
        return int(self._rng.integers(len(self.streets)))

    def _new_street_name(self) -> str:
        for _ in range(50):
            stem = self._stems[int(self._rng.integers(len(self._stems)))]
            kind = self._kinds[int(self._rng.integers(len(self._kinds)))]
            name = f"{stem} {kind}"
            if all(s.name != name for s in self.streets[-400:]):
                return name
        return f"{stem} {kind} {len(self.streets)}"

    def _block(self, street: int) -> tuple[int, int]:
        """A flat in the street's newest block, opening a new block when that one is full."""
        info = self.streets[street]
        if info.block_fill >= FLATS_PER_BLOCK:
            stem = self._stems[int(self._rng.integers(len(self._stems)))]
            kind = self._building_kinds[int(self._rng.integers(len(self._building_kinds)))]
            self.buildings.append(f"{stem} {kind}")
            info.block = len(self.buildings) - 1
            info.block_fill = 0
            info.next_house += 1  # the block takes a street number of its own
        info.block_fill += 1
        return info.block, info.block_fill

    def _postcode(self, district: int) -> int:
        """The postcode for the next home in `district`: units fill up a few homes at a time."""
        count = self._postcode_next.get(district, 0)
        self._postcode_next[district] = count + 1
        unit_number = count // HOMES_PER_POSTCODE
        index = self._postcode_index.get((district, unit_number))
        if index is None:
            letters = POSTCODE_UNIT_LETTERS
            # Spread units over the district's ten sectors, as NF3 1AB, NF3 2AB…
            sector = unit_number % 10
            unit = unit_number // 10 % (len(letters) ** 2)
            code = f"{self.area}{district + 1} {sector}"
            code += letters[unit // len(letters)] + letters[unit % len(letters)]
            index = len(self.postcodes)
            self.postcodes.append(code)
            self._postcode_index[district, unit_number] = index
        return index

    def vacant(self) -> NDArray[np.int64]:
        """Positions of empty homes."""
        return np.flatnonzero(~self.homes["occupied"]).astype(np.int64)

    def ensure_vacancies(self, needed: int, spare: float) -> None:
        """Build homes so at least `needed` (and a `spare` share of all homes) stand empty."""
        empty = int((~self.homes["occupied"]).sum())
        want = needed + int(spare * len(self.homes))
        if empty < want:
            self.build(want - empty)

    def address(self, position: int, style: int = 0) -> str:
        """A home's address without the postcode; `style` 0 full, 1 abbreviated, 2 with the area."""
        homes = self.homes
        street = self.streets[int(homes["street"][position])]
        number = int(homes["number"][position])
        name = street.name if style != 1 else _abbreviate(street.name)
        building = int(homes["building"][position])
        if building >= 0:
            flat = int(homes["flat"][position])
            text = f"Flat {flat}, {self.buildings[building]}, {number} {name}"
            if style == 1:
                text = f"{flat} {self.buildings[building]}, {number} {name}"
        else:
            text = f"{number} {name}"
        if style == 2:
            text += f", {self.areas[street.district]}, {self.borough}"
        return text

    def postcode(self, position: int) -> str:
        """A home's postcode."""
        return self.postcodes[int(self.homes["postcode"][position])]

    def addresses(self, positions: NDArray[np.integer], style: int) -> list[str]:
        """Addresses of many homes in one style (rendered once per home and kept)."""
        cache = self._address_cache.get(style, np.zeros(0, dtype=object))
        if len(cache) < len(self.homes):
            more = [self.address(p, style) for p in range(len(cache), len(self.homes))]
            cache = np.concatenate([cache, np.array(more, dtype=object)])
            self._address_cache[style] = cache
        result: list[str] = cache[positions].tolist()
        return result

    def postcodes_of(self, positions: NDArray[np.integer]) -> list[str]:
        """Postcodes of many homes."""
        if len(self._postcode_table) < len(self.postcodes):
            self._postcode_table = np.array(self.postcodes, dtype=object)
        result: list[str] = self._postcode_table[self.homes["postcode"][positions]].tolist()
        return result

    # -- schools -------------------------------------------------------------------------------

    def open_schools(self, residents: int, settings: Settings) -> None:
        """Primary and secondary schools in proportion to the population, spread over districts."""
        borough = settings.borough
        primaries = max(1, round(residents / borough.residents_per_primary_school))
        secondaries = max(1, round(residents / borough.residents_per_secondary_school))
        self.schools: list[School] = []
        for phase, count, first in (("primary", primaries, 2001), ("secondary", secondaries, 4001)):
            for i in range(count):
                stem = self._school_stems[i % len(self._school_stems)]
                suffix = "Primary School" if phase == "primary" else "Academy"
                if i >= len(self._school_stems):
                    suffix = f"{suffix} {i // len(self._school_stems) + 1}"
                self.schools.append(School(first + i, f"{stem} {suffix}", phase, i % DISTRICTS))
        self._by_phase_district: dict[tuple[str, int], list[int]] = {}
        for index, school in enumerate(self.schools):
            self._by_phase_district.setdefault((school.phase, school.district), []).append(index)

    def pick_schools(
        self, phase: str, districts: NDArray[np.int8], rng: np.random.Generator
    ) -> NDArray[np.int16]:
        """A school of `phase` for each pupil, near home when the district has one."""
        result = np.empty(len(districts), dtype=np.int16)
        anywhere = [i for i, s in enumerate(self.schools) if s.phase == phase]
        for district in range(DISTRICTS):
            mask = districts == district
            options = self._by_phase_district.get((phase, district), anywhere)
            result[mask] = np.asarray(options, np.int16)[
                rng.integers(len(options), size=mask.sum())
            ]
        return result


@dataclass(frozen=True)
class School:
    """A school: its 4-digit DfE establishment number, name, phase and district."""

    number: int
    name: str
    phase: str
    district: int


_ABBREVIATIONS = {
    "Road": "Rd",
    "Street": "St",
    "Avenue": "Ave",
    "Close": "Cl",
    "Gardens": "Gdns",
    "Lane": "Ln",
    "Crescent": "Cres",
    "Drive": "Dr",
    "Place": "Pl",
    "Terrace": "Terr",
}


def _abbreviate(street: str) -> str:
    stem, _, kind = street.rpartition(" ")
    return f"{stem} {_ABBREVIATIONS.get(kind, kind)}"
