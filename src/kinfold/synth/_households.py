"""Making households: who lives together, their ages, sexes, origins and names.

Used for the borough at the start and for households moving in later. Everything is vectorised by
household type; a batch's people refer to each other by their position in the batch ("local"
indices), which the borough turns into person ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kinfold.synth._dates import YEAR
from kinfold.synth._settings import HOUSEHOLD_TYPES, Settings
from kinfold.synth.names import NameBank

MALE = 1
FEMALE = 0
NONE = -1
#: Quarter index meaning "long before the run" (a surname changed years ago), and "never".
LONG_AGO = -1000
NEVER = -32000

I64 = NDArray[np.int64]


@dataclass
class Batch:
    """People made together, in households numbered 0.. within the batch."""

    columns: dict[str, list[NDArray[Any]]] = field(default_factory=dict)
    households: int = 0
    size: int = 0

    def add(self, **values: NDArray[Any]) -> I64:
        """Add people (equal-length arrays per column); returns their local indices."""
        count = len(values["hh"])
        for name, value in values.items():
            self.columns.setdefault(name, []).append(np.asarray(value))
        local = np.arange(self.size, self.size + count, dtype=np.int64)
        self.size += count
        return local

    def column(self, name: str, dtype: type | np.dtype[np.generic]) -> NDArray[Any]:
        """One column over the whole batch, concatenated."""
        parts = self.columns.get(name, [])
        if not parts:
            return np.zeros(0, dtype=dtype)
        return np.concatenate(parts).astype(dtype)


class HouseholdMaker:
    """Makes batches of households with the borough's settings and names."""

    def __init__(self, settings: Settings, names: NameBank, rng: np.random.Generator) -> None:
        self.settings = settings
        self.families = settings.families
        self.names = names
        self.rng = rng
        origins = settings.households.origins
        self.origin_names = tuple(names.origins)
        self.origin_shares = np.array([origins.get(o, 0.0) for o in self.origin_names])
        self.origin_shares /= self.origin_shares.sum()

    # -- public -------------------------------------------------------------------------------

    def make(self, residents: int, today: int) -> tuple[Batch, dict[str, NDArray[Any]]]:
        """Households holding exactly `residents` people (the last filled with people living alone)."""
        rng = self.rng
        shares = np.array(self.settings.households.type_shares())
        batch = Batch()
        estimate = int(residents / 2.4) + 10
        types = rng.choice(len(HOUSEHOLD_TYPES), size=estimate, p=shares).astype(np.int8)
        types.sort(kind="stable")
        counts = np.bincount(types, minlength=len(HOUSEHOLD_TYPES))
        makers = (
            self._one_person,
            self._couple,
            self._couple_with_children,
            self._couple_with_adult_children,
            self._lone_parent,
            self._multi_generation,
            self._shared,
        )
        for kind, maker in enumerate(makers):
            if counts[kind]:
                hh = batch.households + np.arange(counts[kind], dtype=np.int64)
                maker(batch, hh, today)
                batch.households += int(counts[kind])
        people = self._columns(batch)
        people = self._fit(batch, people, residents, today)
        return batch, people

    # -- fitting the batch to the number asked for ---------------------------------------------

    def _fit(
        self,
        batch: Batch,
        people: dict[str, NDArray[Any]],
        residents: int,
        today: int,
    ) -> dict[str, NDArray[Any]]:
        """Drop whole households in random order until under `residents`, then add singles."""
        hh = people["hh"].astype(np.int64)
        sizes = np.bincount(hh, minlength=batch.households)
        order = self.rng.permutation(batch.households)
        kept = np.cumsum(sizes[order]) <= residents
        keep_hh = np.zeros(batch.households, dtype=bool)
        keep_hh[order[kept]] = True
        mask = keep_hh[hh]
        people = _select(people, mask)
        remaining = residents - len(people["hh"])
        if remaining > 0:
            extra = Batch(households=batch.households)
            self._one_person(extra, batch.households + np.arange(remaining, dtype=np.int64), today)
            more = self._columns(extra)
            more = _shift_local(more, len(people["hh"]))
            people = {k: np.concatenate([people[k], more[k]]) for k in people}
            batch.households += remaining
        return people

    # -- ages ----------------------------------------------------------------------------------

    def _dob(self, ages: NDArray[np.float64], today: int) -> NDArray[np.int32]:
        days = np.floor(ages * YEAR + self.rng.random(len(ages)) * YEAR)
        return (today - days).astype(np.int32)

    def _tri(self, n: int, low: float, mode: float, high: float) -> NDArray[np.float64]:
        return self.rng.triangular(low, mode, high, size=n)

    def _origins(self, n: int) -> NDArray[np.int8]:
        return self.rng.choice(len(self.origin_shares), size=n, p=self.origin_shares).astype(
            np.int8
        )

    def _partner_origins(self, origins: NDArray[np.int8]) -> NDArray[np.int8]:
        mixed = self.rng.random(len(origins)) < self.families.mixed_origin_couples
        return np.where(mixed, self._origins(len(origins)), origins).astype(np.int8)

    def _surnames(self, origins: NDArray[np.int8]) -> NDArray[np.int32]:
        """A family (masculine) surname for each origin."""
        result = np.empty(len(origins), dtype=np.int32)
        for code, origin in enumerate(self.origin_names):
            mask = origins == code
            if mask.any():
                result[mask] = self.names.surname_pools[origin].sample(self.rng, int(mask.sum()))
        return result

    def _woman_surnames(
        self, family: NDArray[np.int32], origins: NDArray[np.int8]
    ) -> NDArray[np.int32]:
        """Women's and girls' surnames: the feminine form, or Begum/Bibi/Khatun where that is usual."""
        result = self.names.feminine[family]
        for origin, (share, pool) in self.names.women_only.items():
            code = self.origin_names.index(origin)
            mask = (origins == code) & (self.rng.random(len(origins)) < share)
            if mask.any():
                result[mask] = pool.sample(self.rng, int(mask.sum()))
        return result.astype(np.int32)

    # -- household types -----------------------------------------------------------------------

    def _adult(
        self,
        batch: Batch,
        hh: I64,
        sex: NDArray[np.int8],
        dob: NDArray[np.int32],
        origin: NDArray[np.int8],
        surname: NDArray[np.int32],
        birth_surname: NDArray[np.int32] | None = None,
        mother: I64 | None = None,
        father: I64 | None = None,
        contact: I64 | None = None,
    ) -> I64:
        """People of the batch (adults or children: the name is historical)."""
        n = len(hh)
        none = np.full(n, NONE, np.int64)
        born = surname if birth_surname is None else birth_surname
        changed = np.where(born != surname, LONG_AGO, NEVER).astype(np.int16)
        return batch.add(
            hh=hh,
            sex=sex,
            dob=dob,
            origin=origin,
            surname=surname,
            birth_surname=born,
            prev_surname=np.where(born != surname, born, NONE).astype(np.int32),
            surname_changed=changed,
            mother=none if mother is None else mother,
            father=none if father is None else father,
            partner=none,
            contact=none if contact is None else contact,
        )

    def _single(self, batch: Batch, hh: I64, today: int, ages: NDArray[np.float64]) -> I64:
        n = len(hh)
        sex = (self.rng.random(n) < 0.5).astype(np.int8)
        origin = self._origins(n)
        family = self._surnames(origin)
        surname = np.where(sex == MALE, family, self._woman_surnames(family, origin))
        return self._adult(batch, hh, sex, self._dob(ages, today), origin, surname.astype(np.int32))

    def _one_person(self, batch: Batch, hh: I64, today: int) -> None:
        n = len(hh)
        young = self.rng.random(n) < 0.6
        ages = np.where(young, self._tri(n, 18, 30, 60), self._tri(n, 55, 75, 95))
        self._single(batch, hh, today, ages)

    def _shared(self, batch: Batch, hh: I64, today: int) -> None:
        sizes = self.rng.integers(2, 6, size=len(hh))
        for slot in range(5):
            members = hh[sizes > slot]
            self._single(batch, members, today, self._tri(len(members), 18, 26, 45))

    def _pair(
        self, batch: Batch, hh: I64, today: int, woman_ages: NDArray[np.float64], share: float
    ) -> tuple[I64, I64, NDArray[np.int32], NDArray[np.int8], NDArray[np.int8]]:
        """A couple: returns (first, second, family surname, first's origin, second's origin).

        The first partner is the man in an opposite-sex couple; same-sex couples keep their own
        surnames.
        """
        n = len(hh)
        rng = self.rng
        same_sex = rng.random(n) < self.families.same_sex_couples
        first_sex = np.where(same_sex & (rng.random(n) < 0.5), FEMALE, MALE).astype(np.int8)
        second_sex = np.where(same_sex, first_sex, FEMALE).astype(np.int8)
        origin = self._origins(n)
        origin2 = self._partner_origins(origin)
        family = self._surnames(origin)
        own = self._surnames(origin2)
        # Men are a little older than their partners; never so much younger that a father would
        # have been under 15 at his first child's birth.
        gap = np.clip(rng.normal(2.5, 3.5, size=n), -2, 15)
        man_ages = np.maximum(woman_ages + gap, 18)
        first_surname = np.where(first_sex == MALE, family, self.names.feminine[family])
        born2 = np.where(second_sex == MALE, own, self._woman_surnames(own, origin2))
        takes = (~same_sex) & (rng.random(n) < share) & (self.names.masculine[born2] >= 0)
        surname2 = np.where(takes, self.names.feminine[family], born2).astype(np.int32)
        first = self._adult(
            batch, hh, first_sex, self._dob(man_ages, today), origin, first_surname.astype(np.int32)
        )
        second = self._adult(
            batch, hh, second_sex, self._dob(woman_ages, today), origin2, surname2, born2
        )
        return first, second, family, origin, origin2

    def _couple(self, batch: Batch, hh: I64, today: int) -> None:
        n = len(hh)
        young = self.rng.random(n) < 0.5
        ages = np.where(young, self._tri(n, 20, 28, 40), self._tri(n, 42, 62, 90))
        # Couples without children are less often married, so fewer share a surname.
        first, second, *_ = self._pair(
            batch, hh, today, ages, self.families.partners_share_surname * 0.7
        )
        _link_partners(batch, first, second)

    def _couple_with_children(self, batch: Batch, hh: I64, today: int) -> None:
        ages = self._tri(len(hh), 20, 36, 55)
        first, second, family, origin, origin2 = self._pair(
            batch, hh, today, ages, self.families.partners_share_surname
        )
        _link_partners(batch, first, second)
        mother, father = _mother_father(batch, first, second)
        kids_surname = self._children_base(batch, family, second)
        self._children(
            batch, hh, today, mother, father, origin, origin2, kids_surname, dependent=True
        )

    def _children_base(
        self, batch: Batch, family: NDArray[np.int32], second: I64
    ) -> NDArray[np.int32]:
        """Children's family surname: the father's mostly, else the mother's own (masculine form)."""
        born2 = batch.column("birth_surname", np.int32)[second]
        mothers = self.names.masculine[born2]
        fathers = self.rng.random(len(family)) < self.families.children_take_fathers_surname
        return np.where(fathers | (mothers < 0), family, mothers).astype(np.int32)

    def _couple_with_adult_children(self, batch: Batch, hh: I64, today: int) -> None:
        ages = self._tri(len(hh), 42, 52, 68)
        first, second, family, origin, origin2 = self._pair(
            batch, hh, today, ages, self.families.partners_share_surname
        )
        _link_partners(batch, first, second)
        mother, father = _mother_father(batch, first, second)
        base = self._children_base(batch, family, second)
        self._children(batch, hh, today, mother, father, origin, origin2, base, dependent=False)

    def _lone_parent(self, batch: Batch, hh: I64, today: int) -> None:
        n = len(hh)
        rng = self.rng
        sex = np.where(rng.random(n) < self.families.lone_fathers, MALE, FEMALE).astype(np.int8)
        origin = self._origins(n)
        family = self._surnames(origin)
        surname = np.where(sex == MALE, family, self._woman_surnames(family, origin))
        parent = self._adult(
            batch, hh, sex, self._dob(self._tri(n, 18, 33, 55), today), origin, surname
        )
        absent_father = self._surnames(self._partner_origins(origin))
        takes = rng.random(n) < self.families.children_take_absent_fathers_surname
        own = self.names.masculine[surname]
        base = np.where(
            (sex == MALE) | ((~takes) & (own >= 0)), np.where(own >= 0, own, family), absent_father
        )
        mother = np.where(sex == FEMALE, parent, NONE)
        father = np.where(sex == MALE, parent, NONE)
        self._children(
            batch, hh, today, mother, father, origin, origin, base.astype(np.int32), True
        )
        batch.columns.setdefault("lone_parent", []).append(parent)

    def _multi_generation(self, batch: Batch, hh: I64, today: int) -> None:
        n = len(hh)
        rng = self.rng
        parent_ages = self._tri(n, 20, 32, 45)
        grand_ages = np.minimum(parent_ages + self._tri(n, 20, 27, 38), 92)
        both = rng.random(n) < 0.6
        g_first, g_second, g_family, g_origin, _ = self._pair(
            batch, hh, today, grand_ages, self.families.partners_share_surname
        )
        _link_partners(batch, g_first, g_second)
        grandmother, grandfather = _mother_father(batch, g_first, g_second)
        # A single grandparent: the grandfather has died or left; drop him from the batch.
        batch.columns.setdefault("drop", []).append(np.where(both, NONE, grandfather))
        couple = rng.random(n) < 0.6
        son = self._adult(
            batch,
            hh,
            np.where(couple, MALE, FEMALE).astype(np.int8),
            self._dob(parent_ages + 2, today),
            g_origin,
            np.where(couple, g_family, self.names.feminine[g_family]).astype(np.int32),
            mother=grandmother,
            father=grandfather,
        )
        wife_origin = self._partner_origins(g_origin)
        wife_family = self._surnames(wife_origin)
        born = self._woman_surnames(wife_family, wife_origin)
        takes = rng.random(n) < self.families.partners_share_surname
        wife = self._adult(
            batch,
            hh,
            np.full(n, FEMALE, np.int8),
            self._dob(parent_ages, today),
            wife_origin,
            np.where(takes, self.names.feminine[g_family], born).astype(np.int32),
            born,
        )
        batch.columns.setdefault("drop", []).append(np.where(couple, NONE, wife))
        _link_partners(batch, son[couple], wife[couple])
        mother = np.where(couple, wife, son)
        father = np.where(couple, son, NONE)
        self._children(batch, hh, today, mother, father, g_origin, wife_origin, g_family, True)

    def _children(
        self,
        batch: Batch,
        hh: I64,
        today: int,
        mother: I64,
        father: I64,
        origin: NDArray[np.int8],
        origin2: NDArray[np.int8],
        family: NDArray[np.int32],
        dependent: bool,
    ) -> None:
        """Children of each household: dependent (0-17) or, if not `dependent`, adults (18-30).

        Ages are drawn evenly over the years the younger parent could have had them (at 17 or
        older), then spaced at least 300 days apart, except twins.
        """
        rng = self.rng
        n = len(hh)
        dob = batch.column("dob", np.int32)
        younger = np.maximum(dob[np.maximum(mother, 0)], dob[np.maximum(father, 0)])
        younger = np.where(mother < 0, dob[np.maximum(father, 0)], younger)
        younger = np.where(father < 0, dob[np.maximum(mother, 0)], younger)
        oldest_possible = (today - younger) - 17 * YEAR
        if dependent:
            counts = 1 + rng.choice(5, size=n, p=np.array(self.families.children))
            low, high = np.zeros(n), np.minimum(18 * YEAR - 1, oldest_possible)
        else:
            counts = rng.integers(1, 3, size=n)
            low, high = np.full(n, 18 * YEAR), np.minimum(31 * YEAR - 1, oldest_possible)
        slots = np.arange(5)
        age = low[:, None] + rng.random((n, 5)) * np.maximum(high - low, 0)[:, None]
        age = np.where(slots[None, :] < counts[:, None], age, -np.inf)
        age = -np.sort(-age, axis=1)  # oldest first
        twins = rng.random(n) < self.families.twins
        for slot in range(1, 5):
            spaced = np.minimum(age[:, slot], age[:, slot - 1] - 300)
            if slot == 1:
                spaced = np.where(twins, age[:, 0], spaced)
            age[:, slot] = np.where(np.isfinite(age[:, slot]), spaced, -np.inf)
        for slot in range(5):
            has = age[:, slot] >= low
            born = (today - np.floor(age[has, slot])).astype(np.float64)
            self._child(batch, hh[has], born, mother[has], father[has], origin[has],
                        origin2[has], family[has])  # fmt: skip
        if dependent:
            adult = (rng.random(n) < self.families.adult_child_at_home) & (
                oldest_possible >= 18 * YEAR
            )
            span = np.minimum(oldest_possible[adult], 25 * YEAR) - 18 * YEAR
            born = today - (18 * YEAR + rng.random(int(adult.sum())) * np.maximum(span, 0))
            self._child(batch, hh[adult], np.floor(born), mother[adult], father[adult],
                        origin[adult], origin2[adult], family[adult])  # fmt: skip

    def _child(
        self,
        batch: Batch,
        hh: I64,
        dob: NDArray[np.float64],
        mother: I64,
        father: I64,
        origin: NDArray[np.int8],
        origin2: NDArray[np.int8],
        family: NDArray[np.int32],
    ) -> None:
        n = len(hh)
        rng = self.rng
        sex = (rng.random(n) < 0.512).astype(np.int8)  # about 105 boys are born for 100 girls
        child_origin = np.where(rng.random(n) < 0.5, origin, origin2).astype(np.int8)
        surname = np.where(sex == MALE, family, self._woman_surnames(family, origin)).astype(
            np.int32
        )
        contact = np.where(mother >= 0, mother, father)
        self._adult(batch, hh, sex, dob.astype(np.int32), child_origin, surname,
                    mother=mother, father=father, contact=contact)  # fmt: skip

    # -- finishing -----------------------------------------------------------------------------

    def _columns(self, batch: Batch) -> dict[str, NDArray[Any]]:
        """The batch as columns, with given names drawn, and dropped members taken out."""
        people: dict[str, NDArray[Any]] = {
            "hh": batch.column("hh", np.int64),
            "sex": batch.column("sex", np.int8),
            "dob": batch.column("dob", np.int32),
            "origin": batch.column("origin", np.int8),
            "surname": batch.column("surname", np.int32),
            "birth_surname": batch.column("birth_surname", np.int32),
            "prev_surname": batch.column("prev_surname", np.int32),
            "surname_changed": batch.column("surname_changed", np.int16),
            "mother": batch.column("mother", np.int64),
            "father": batch.column("father", np.int64),
            "partner": batch.column("partner", np.int64),
            "contact": batch.column("contact", np.int64),
        }
        people["partner"] = _apply_links(batch, len(people["hh"]))
        people["given"] = self._given_names(people["origin"], people["sex"])
        people["lone_parent"] = np.zeros(len(people["hh"]), dtype=bool)
        for part in batch.columns.get("lone_parent", []):
            people["lone_parent"][part] = True
        drop = np.concatenate(batch.columns.get("drop", [np.zeros(0, np.int64)]))
        drop = drop[drop >= 0]
        keep = np.ones(len(people["hh"]), dtype=bool)
        keep[drop] = False
        return _select(people, keep)

    def _given_names(self, origin: NDArray[Any], sex: NDArray[Any]) -> NDArray[np.int32]:
        result = np.empty(len(origin), dtype=np.int32)
        for code, name in enumerate(self.origin_names):
            for s in (FEMALE, MALE):
                mask = (origin == code) & (sex == s)
                if mask.any():
                    pool = self.names.given_pools[name, s]
                    result[mask] = pool.sample(self.rng, int(mask.sum()))
        return result


def _link_partners(batch: Batch, first: I64, second: I64) -> None:
    batch.columns.setdefault("links", []).append(np.stack([first, second]))


def _apply_links(batch: Batch, size: int) -> NDArray[np.int64]:
    partner = np.full(size, NONE, np.int64)
    for pair in batch.columns.get("links", []):
        partner[pair[0]] = pair[1]
        partner[pair[1]] = pair[0]
    return partner


def _mother_father(batch: Batch, first: I64, second: I64) -> tuple[I64, I64]:
    """Which of a couple is the mother and which the father (same-sex couples: first is both)."""
    sex = batch.column("sex", np.int8)
    first_male = sex[first] == MALE
    second_male = sex[second] == MALE
    mother = np.where(~second_male, second, np.where(~first_male, first, NONE))
    father = np.where(first_male, first, np.where(second_male, second, NONE))
    same = sex[first] == sex[second]
    mother = np.where(same & ~first_male, first, mother)
    father = np.where(same & first_male, first, father)
    return mother.astype(np.int64), father.astype(np.int64)


def _select(people: dict[str, NDArray[Any]], keep: NDArray[np.bool_]) -> dict[str, NDArray[Any]]:
    """Keep some people; local references to dropped people become NONE, the rest renumbered."""
    new_index = np.full(len(keep), NONE, np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    result = {k: v[keep] for k, v in people.items()}
    for ref in ("mother", "father", "partner", "contact"):
        old = result[ref].astype(np.int64)
        result[ref] = np.where(old >= 0, new_index[np.maximum(old, 0)], NONE)
    return result


def _shift_local(people: dict[str, NDArray[Any]], offset: int) -> dict[str, NDArray[Any]]:
    for ref in ("mother", "father", "partner", "contact"):
        old = people[ref].astype(np.int64)
        people[ref] = np.where(old >= 0, old + offset, NONE)
    return people
