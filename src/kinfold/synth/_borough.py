"""The borough's people, households and homes, and how they change from one quarter to the next.

People and households are Tables (numpy columns). A quarter's demography runs as vectorised steps
(deaths, households leaving, moves, births…); the few steps that pair people up or split households
loop in Python over the handful of people concerned. All randomness comes from one seeded generator
drawn in a fixed order, so a seed gives the same borough every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kinfold.quarters import Quarter
from kinfold.synth._dates import YEAR, quarter_days, ymd
from kinfold.synth._households import FEMALE, MALE, NEVER, NONE, HouseholdMaker
from kinfold.synth._places import Places
from kinfold.synth._settings import Settings
from kinfold.synth._tables import Table
from kinfold.synth.identifiers import DRAMA_NUMBERS, nhs_test_numbers
from kinfold.synth.names import NameBank

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]

COPING, STRUGGLING, IN_CRISIS = 0, 1, 2
#: The establishment number UPNs are made under for students the borough's schools never had.
COLLEGE_NUMBER = 4900

_PERSON_COLUMNS: dict[str, type] = {
    "pid": np.int64,
    "sex": np.int8,
    "dob": np.int32,
    "origin": np.int8,
    "given": np.int32,
    "surname": np.int32,
    "birth_surname": np.int32,
    "prev_surname": np.int32,
    "surname_changed": np.int16,
    "prev_given": np.int32,
    "given_changed": np.int16,
    "hh": np.int64,
    "mother": np.int64,
    "father": np.int64,
    "partner": np.int64,
    "ex_partner": np.int64,
    "separated": np.int16,
    "contact": np.int64,
    "risk": np.float32,
    "absence": np.float32,
    "stays_in_education": np.bool_,
    "sixth_form": np.bool_,
    "school": np.int16,
    "claim": np.bool_,
    "claim_start": np.int32,
    "probation": np.bool_,
    "probation_start": np.int32,
    "csc": np.int8,
    "csc_start": np.int32,
    "ap": np.bool_,
    "mh": np.bool_,
    "substance": np.bool_,
    "substance_start": np.int32,
    "nhs": np.int64,
    "upn": np.int64,
    "twin_of": np.int64,
    "same_as": np.int64,
    "phone": np.int16,
    "arrived": np.int16,
    "moved": np.int16,
    "prev_home": np.int32,
    "left": np.bool_,
    # Date of birth split once, so ages are cheap to work out every quarter.
    "birth_year": np.int16,
    "birth_md": np.int16,
    # The person's current spell in the truth's membership file (see _truthfiles.py).
    "spell_hh": np.int64,
    "spell_family": np.int64,
    "spell_role": np.int8,
    "spell_home": np.int32,
    "spell_elsewhere": np.int64,
    "spell_from": np.int16,
}
# Columns whose "nothing" is not zero.
_NONE_COLUMNS = (
    "prev_surname",
    "prev_given",
    "mother",
    "father",
    "partner",
    "ex_partner",
    "contact",
    "school",
    "twin_of",
    "same_as",
    "prev_home",
    "spell_hh",
    "spell_family",
    "spell_elsewhere",
    "spell_home",
)
_NEVER_COLUMNS = ("surname_changed", "given_changed", "separated", "moved", "spell_from")

_HOUSEHOLD_COLUMNS: dict[str, type] = {
    "hid": np.int64,
    "home": np.int32,
    "state": np.int8,
    "scar": np.bool_,
    "family": np.int64,
    "abuse": np.int16,
}


def _empty(columns: dict[str, type]) -> dict[str, NDArray[Any]]:
    return {name: np.zeros(0, dtype=dtype) for name, dtype in columns.items()}


def _split_birth(rows: dict[str, NDArray[Any]]) -> None:
    year, month, dom = ymd(rows["dob"].astype(np.int32))
    rows["birth_year"] = year.astype(np.int16)
    rows["birth_md"] = (month * 100 + dom).astype(np.int16)


def _new_people(n: int) -> dict[str, NDArray[Any]]:
    """Columns for `n` new people with every "nothing" value in place."""
    rows: dict[str, NDArray[Any]] = {
        name: np.zeros(n, dtype=dtype) for name, dtype in _PERSON_COLUMNS.items()
    }
    for name in _NONE_COLUMNS:
        rows[name][:] = NONE
    for name in _NEVER_COLUMNS:
        rows[name][:] = NEVER
    return rows


@dataclass
class Departed:
    """People who left the borough (moved away or died) in a quarter's demography."""

    pids: I64
    died: Mask


class Borough:
    """Northfield: people, households, homes and schools, moved on a quarter at a time."""

    def __init__(self, settings: Settings, names: NameBank, seed: int, start: Quarter) -> None:
        self.settings = settings
        self.names = names
        self.seed = seed
        self.start = start
        life, _recording = np.random.SeedSequence(seed).spawn(2)
        self.rng = np.random.Generator(np.random.PCG64(life))
        self.places = Places(settings, self.rng)
        self.maker = HouseholdMaker(settings, names, self.rng)
        self.people = Table("pid", _empty(_PERSON_COLUMNS))
        self.households = Table("hid", _empty(_HOUSEHOLD_COLUMNS))
        self.next_pid = 0
        self.next_hid = 0
        self.next_family = 0
        self.q = 0  # quarters since the start (negative while warming up)
        self._nhs_pool = nhs_test_numbers(np.random.default_rng(seed))
        self._nhs_next = 0
        self._upn_serials: dict[tuple[int, int], int] = {}
        self.target = 0
        self._ages_key: tuple[int, int, int] = (0, -1, 0)
        self._ages = np.zeros(0, np.int16)
        self._hh_pos: I64 | None = None
        self.name_changes: list[tuple[int, int, str, str, str, str]] = []

    # -- quarter arithmetic --------------------------------------------------------------------

    @property
    def quarter(self) -> Quarter:
        return self.start + self.q

    def days(self) -> tuple[int, int]:
        """First and last day of the current quarter."""
        return quarter_days(self.quarter)

    def ages(self) -> NDArray[np.int16]:
        """Everyone's age at the end of the current quarter (cached until people change)."""
        dob = self.people["dob"]
        key = (self.q, len(dob), id(dob))
        if self._ages_key != key:
            self._ages = self.ages_on(self.days()[1])
            self._ages_key = key
        return self._ages

    def ages_on(self, on: int) -> NDArray[np.int16]:
        """Everyone's age in whole years on day `on`."""
        year, month, dom = (int(x[0]) for x in ymd(np.array([on], dtype=np.int32)))
        people = self.people
        before_birthday = people["birth_md"] > month * 100 + dom
        return (year - people["birth_year"] - before_birthday).astype(np.int16)

    def household_positions(self) -> I64:
        """Each person's household's position (cached until someone moves or a household goes)."""
        if self._hh_pos is None or len(self._hh_pos) != len(self.people):
            self._hh_pos = self.households.positions(self.people["hh"])
        return self._hh_pos

    def _moved(self) -> None:
        """Forget cached household positions: people or households have changed."""
        self._hh_pos = None

    # -- assembling the borough ----------------------------------------------------------------

    def populate(self, residents: int) -> None:
        """The borough at the start of the first quarter: `residents` people in households."""
        self.target = residents
        self.places.open_schools(residents, self.settings)
        batch_people = self.maker.make(residents, self.days()[0])[1]
        self._add_people(batch_people, arrived=0)
        self._same_name_and_birthday()

    def _add_people(self, batch: dict[str, NDArray[Any]], arrived: int) -> I64:
        """Give a batch of new households ids, homes and circumstances; returns their positions."""
        rng = self.rng
        n = len(batch["hh"])
        pids = self.next_pid + np.arange(n, dtype=np.int64)
        self.next_pid += n
        local_hh = batch["hh"].astype(np.int64)
        unique_hh, hh_index = np.unique(local_hh, return_inverse=True)
        hids = self.next_hid + np.arange(len(unique_hh), dtype=np.int64)
        self.next_hid += len(unique_hh)
        self._house(hids, rng.choice(3, size=len(hids), p=self.settings.circumstances.initial))

        def ref(name: str) -> I64:
            local = batch[name].astype(np.int64)
            return np.where(local >= 0, pids[0] + local, NONE)

        rows = _new_people(n)
        rows.update(
            pid=pids,
            sex=batch["sex"],
            dob=batch["dob"],
            origin=batch["origin"],
            given=batch["given"],
            surname=batch["surname"],
            birth_surname=batch["birth_surname"],
            prev_surname=batch["prev_surname"],
            surname_changed=batch["surname_changed"],
            hh=hids[hh_index],
            mother=ref("mother"),
            father=ref("father"),
            partner=ref("partner"),
            contact=ref("contact"),
            arrived=np.full(n, arrived, np.int16),
        )
        self._individual_traits(rows, n)
        self._moved()
        positions = self.people.append(rows)
        self._absent_parents(positions, batch["lone_parent"])
        self._twins(positions)
        return positions

    def _individual_traits(self, rows: dict[str, NDArray[Any]], n: int) -> None:
        """Traits drawn once per person: propensities, schooling plans, a phone number."""
        _split_birth(rows)
        rng = self.rng
        settings = self.settings
        sigma = settings.indicators.absence_spread
        # Propensity: lognormal with mean 1, so rates in the settings are averages.
        rows["risk"] = np.exp(rng.normal(-0.18, 0.6, n)).astype(np.float32)
        usual_absence = settings.indicators.absence_median * np.exp(rng.normal(0, sigma, n))
        rows["absence"] = usual_absence.astype(np.float32)
        rows["stays_in_education"] = rng.random(n) < settings.families.in_education_after_16
        rows["sixth_form"] = rng.random(n) < settings.families.sixth_form_at_school
        rows["phone"] = rng.integers(DRAMA_NUMBERS, size=n).astype(np.int16)

    def _house(self, hids: I64, states: NDArray[np.integer]) -> NDArray[np.int32]:
        """New households, each in an empty home; returns the homes' positions."""
        places = self.places
        places.ensure_vacancies(len(hids), self.settings.borough.vacant_properties)
        homes = self.rng.choice(places.vacant(), size=len(hids), replace=False).astype(np.int32)
        places.homes["occupied"][homes] = True
        self._moved()
        self.households.append(
            {
                "hid": hids,
                "home": homes,
                "state": states.astype(np.int8),
                "scar": states == IN_CRISIS,
                "family": np.full(len(hids), NONE, np.int64),
                "abuse": np.full(len(hids), NEVER, np.int16),
            }
        )
        return homes

    def _absent_parents(self, positions: I64, lone: NDArray[Any]) -> None:
        """Lone parents' children: the other parent often lives elsewhere in the borough."""
        people = self.people
        rng = self.rng
        families = self.settings.families
        parents = positions[lone.astype(bool)]
        parents = parents[rng.random(len(parents)) < families.other_parent_in_borough]
        if len(parents) == 0:
            return
        today = self.days()[0]
        age = self.ages_on(today)[positions]
        kids_hh = np.unique(people["hh"][positions][age < 18])
        free = positions[(age >= 20) & (age <= 65) & ~np.isin(people["hh"][positions], kids_hh)]
        eldest = self._eldest_child_dob(parents)
        for sex in (MALE, FEMALE):
            wanted = parents[people["sex"][parents] != sex]
            pool = free[people["sex"][free] == sex]
            if len(wanted) == 0 or len(pool) == 0:
                continue
            pool = pool[np.argsort(people["dob"][pool], kind="stable")]
            pool_dob = people["dob"][pool]
            # About the parent's age, and at least 16 years older than the eldest child.
            target = people["dob"][wanted] + rng.normal(0, 3 * YEAR, len(wanted))
            target = np.minimum(target, eldest[people["sex"][parents] != sex] - 16 * YEAR)
            pick = np.searchsorted(pool_dob, target, side="right") - 1
            found = pick >= 0
            self._name_other_parent(wanted[found], pool[pick[found]])

    def _eldest_child_dob(self, parents: I64) -> NDArray[np.float64]:
        """The date of birth of each parent's eldest child (as a float day number)."""
        people = self.people
        eldest = np.full(len(parents), np.inf)
        order = np.argsort(people["pid"][parents])
        sorted_pids = people["pid"][parents][order]
        for column in ("mother", "father"):
            child = np.flatnonzero(np.isin(people[column], sorted_pids))
            which = order[np.searchsorted(sorted_pids, people[column][child])]
            np.minimum.at(eldest, which, people["dob"][child].astype(np.float64))
        return eldest

    def _name_other_parent(self, parents: I64, others: I64) -> None:
        people = self.people
        rng = self.rng
        families = self.settings.families
        parent_pid = people["pid"][parents]
        other_pid = people["pid"][others]
        for column, sex in (("father", MALE), ("mother", FEMALE)):
            link = "mother" if column == "father" else "father"
            children = np.flatnonzero(np.isin(people[link], parent_pid) & (people[column] == NONE))
            if len(children) == 0:
                continue
            which = np.searchsorted(np.sort(parent_pid), people[link][children])
            order = np.argsort(parent_pid)
            other = other_pid[order][which]
            other_pos = others[order][which]
            has_sex = people["sex"][other_pos] == sex
            children, other, other_pos = children[has_sex], other[has_sex], other_pos[has_sex]
            people[column][children] = other
            takes = (
                people["surname"][children]
                != people["surname"][self.people.positions(people[link][children])]
            )
            family = self.names.masculine[people["surname"][other_pos]]
            ok = takes & (family >= 0)
            female = people["sex"][children] == FEMALE
            carried = self.names.surname_for(family.astype(np.int32), female)
            people["surname"][children[ok]] = carried[ok]
            people["birth_surname"][children[ok]] = carried[ok]
            named = rng.random(len(children)) < families.records_name_other_parent
            people["contact"][children[named]] = other[named]

    def _twins(self, positions: I64) -> None:
        """Children of one mother born on one day are twins; twins never share a given name."""
        people = self.people
        mother = people["mother"][positions]
        has = positions[mother >= 0]
        key = people["mother"][has] * 100_000 + people["dob"][has].astype(np.int64)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        same = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
        first, second = has[order][same], has[order][same + 1]
        people["twin_of"][first] = people["pid"][second]
        people["twin_of"][second] = people["pid"][first]
        clash = people["given"][first] == people["given"][second]
        for a, b in zip(first[clash].tolist(), second[clash].tolist(), strict=True):
            self._rename_twin(a, b)

    def _rename_twin(self, keep: int, rename: int) -> None:
        people = self.people
        origin = self.names.origins[int(people["origin"][rename])]
        pool = self.names.given_pools[origin, int(people["sex"][rename])]
        for _ in range(20):
            name = int(pool.sample(self.rng, 1)[0])
            if name != people["given"][keep]:
                people["given"][rename] = name
                return

    def _same_name_and_birthday(self) -> None:
        """Some adults living alone or sharing get another resident's exact name and birthday."""
        people = self.people
        rng = self.rng
        age = self.ages()
        sizes = np.bincount(self.households.positions(people["hh"]))
        hh_size = sizes[self.households.positions(people["hh"])]
        no_kin = (people["partner"] < 0) & (people["mother"] < 0) & (people["father"] < 0)
        adults = np.flatnonzero((age >= 20) & (age <= 60))
        takers = np.flatnonzero((age >= 20) & (age <= 60) & no_kin & (hh_size <= 5))
        count = round(self.settings.families.same_name_and_birthday * len(adults))
        count = min(count, len(takers) // 2)
        if count == 0:
            return
        chosen = rng.choice(takers, size=count, replace=False)
        for taker in chosen.tolist():
            sex = people["sex"][taker]
            for _ in range(20):
                model = int(adults[rng.integers(len(adults))])
                far = people["hh"][model] != people["hh"][taker]
                if far and people["sex"][model] == sex and people["same_as"][model] < 0:
                    break
            else:
                continue
            for column in ("given", "surname", "birth_surname", "dob", "birth_year", "birth_md",
                           "origin"):  # fmt: skip
                people[column][taker] = people[column][model]
            people["prev_surname"][taker] = people["prev_surname"][model]
            people["surname_changed"][taker] = people["surname_changed"][model]
            people["same_as"][taker] = people["pid"][model]
            people["same_as"][model] = people["pid"][taker]
        self._ages_key = (0, -1, 0)  # dates of birth changed

    # -- identifiers handed out on first need --------------------------------------------------

    def ensure_nhs(self, positions: I64) -> None:
        """Give NHS numbers to people who do not have one yet (from the 999 test range)."""
        people = self.people
        need = np.unique(positions[people["nhs"][positions] == 0])
        if len(need) == 0:
            return
        if self._nhs_next + len(need) > len(self._nhs_pool):
            raise RuntimeError("the NHS test range has run out of numbers")
        people["nhs"][need] = self._nhs_pool[self._nhs_next : self._nhs_next + len(need)]
        self._nhs_next += len(need)

    def ensure_upn(self, positions: I64) -> None:
        """Give pupils without one a UPN from their school's number and the year (LA code 999);
        students who were never at one of the borough's schools get one under the college's."""
        people = self.people
        need = np.unique(positions[people["upn"][positions] == 0])
        year = self.quarter.year % 100
        for position in need.tolist():
            index = int(people["school"][position])
            number = self.places.schools[index].number if index >= 0 else COLLEGE_NUMBER
            key = (number, year)
            serial = self._upn_serials.get(key, 0)
            if serial > 999:  # a very large intake: carry on under the next school number
                key = (number + 5000, year)
                serial = self._upn_serials.get(key, 0)
            self._upn_serials[key] = serial + 1
            people["upn"][position] = (999 * 10_000 + key[0]) * 100_000 + year * 1000 + serial

    # -- households and families ---------------------------------------------------------------

    def dependent(self, age: NDArray[np.int16]) -> Mask:
        """Dependent children: under 18, or 18-19 and still in education."""
        result: Mask = (age < 18) | ((age < 20) & self.people["stays_in_education"])
        return result

    def update_families(self, age: NDArray[np.int16]) -> None:
        """Households with dependent children are families; a family keeps its id while it lasts."""
        households = self.households
        has_children = np.zeros(len(households), dtype=bool)
        has_children[self.household_positions()[self.dependent(age)]] = True
        ended = (~has_children) & (households["family"] >= 0)
        households["family"][ended] = NONE
        new = np.flatnonzero(has_children & (households["family"] < 0))
        households["family"][new] = self.next_family + np.arange(len(new))
        self.next_family += len(new)

    # -- a quarter of demography ---------------------------------------------------------------

    def advance(self) -> Departed:
        """Move on one quarter: deaths, leavers, moves, new couples, separations, births, arrivals."""
        self.q += 1
        age = self.ages()
        self._deaths(age)
        self._households_leave()
        self._orphaned_children_leave(age)
        self._move_homes()
        self._leave_home(age)
        self._separate()
        self._partner_up(age)
        self._births(age)
        age = self.ages()  # babies have joined
        self._children_move(age)
        self._given_name_changes()
        departed = self._remove_departed()
        self._arrivals()
        return departed

    def _deaths(self, age: NDArray[np.int16]) -> None:
        rate = np.zeros(len(age))
        for low, high, p in self.settings.demography.death:
            rate[(age >= low) & (age <= high)] = p
        died = self.rng.random(len(age)) < rate
        self._dead = self.people["pid"][died]
        self._depart(np.flatnonzero(died))

    def _depart(self, positions: I64) -> None:
        """People leave the borough: links to them as a partner end."""
        people = self.people
        people["left"][positions] = True
        pids = people["pid"][positions]
        partners = people["partner"] >= 0
        gone = partners & np.isin(people["partner"], pids)
        people["partner"][gone] = NONE

    def _households_leave(self) -> None:
        households = self.households
        demography = self.settings.demography
        hh_pos = self.household_positions()
        present = ~self.people["left"]
        sizes = np.bincount(hh_pos[present], minlength=len(households))
        rate = np.where(sizes <= 1, demography.single_leaves, demography.household_leaves)
        leaving = self.rng.random(len(households)) < rate
        self._depart(np.flatnonzero(leaving[hh_pos] & present))

    def _orphaned_children_leave(self, age: NDArray[np.int16]) -> None:
        """Children left without an adult at home go to relatives outside the borough."""
        hh_pos = self.household_positions()
        present = ~self.people["left"]
        adults = np.bincount(hh_pos[present & (age >= 18)], minlength=len(self.households))
        alone = present & (adults[hh_pos] == 0)
        self._depart(np.flatnonzero(alone))

    def _move_homes(self) -> None:
        """Households moving within the borough: everyone in them has a new address."""
        demography = self.settings.demography
        households = self.households
        tenure = self.places.homes["tenure"][households["home"]]
        rate = np.choose(
            tenure,
            [demography.move_social_rent, demography.move_private_rent, demography.move_owner],
        )
        moving = np.flatnonzero(self.rng.random(len(households)) < rate)
        self._rehouse(moving)

    def _rehouse(self, households_moving: I64) -> None:
        if len(households_moving) == 0:
            return
        places = self.places
        households = self.households
        places.ensure_vacancies(len(households_moving), self.settings.borough.vacant_properties)
        old = households["home"][households_moving]
        new = self.rng.choice(places.vacant(), size=len(households_moving), replace=False)
        places.homes["occupied"][old] = False
        places.homes["occupied"][new] = True
        households["home"][households_moving] = new
        movers = np.isin(self.household_positions(), households_moving)
        moved_hh = self.household_positions()[movers]
        old_of = dict(zip(households_moving.tolist(), old.tolist(), strict=True))
        self.people["prev_home"][movers] = [old_of[h] for h in moved_hh.tolist()]
        self.people["moved"][movers] = self.q

    def _new_households(self, founders: I64, inherit: bool = True) -> I64:
        """Each founder starts a household of their own in an empty home; returns the new hids."""
        households = self.households
        people = self.people
        old_pos = self.households.positions(people["hh"][founders])
        states = households["state"][old_pos].astype(np.int64)
        fresh = self.rng.random(len(founders)) < self.settings.circumstances.fresh_start
        if not inherit:
            fresh[:] = True
        states = np.where(fresh, COPING, states)
        hids = self.next_hid + np.arange(len(founders), dtype=np.int64)
        self.next_hid += len(founders)
        old_home = households["home"][old_pos]
        self._house(hids, states)
        self._moved()
        people["hh"][founders] = hids
        people["prev_home"][founders] = old_home
        people["moved"][founders] = self.q
        return hids

    def _join(self, movers: I64, hosts: I64) -> None:
        """People move into their host's household."""
        people = self.people
        self._moved()
        old_home = self.households["home"][self.households.positions(people["hh"][movers])]
        people["hh"][movers] = people["hh"][hosts]
        people["prev_home"][movers] = old_home
        people["moved"][movers] = self.q

    def _leave_home(self, age: NDArray[np.int16]) -> None:
        people = self.people
        hh = people["hh"]
        parent_home = np.zeros(len(age), dtype=bool)
        for column in ("mother", "father"):
            pos = self.people.positions(people[column])
            parent_home |= (pos >= 0) & (hh[np.maximum(pos, 0)] == hh)
        candidates = (age >= 18) & (age <= 30) & ~self.dependent(age) & parent_home
        candidates &= (people["partner"] < 0) & ~people["left"]
        leaving = np.flatnonzero(
            candidates & (self.rng.random(len(age)) < self.settings.demography.leave_home)
        )
        self._new_households(leaving)

    def _separate(self) -> None:
        people = self.people
        demography = self.settings.demography
        partner_pos = self.people.positions(people["partner"])
        coupled = (partner_pos >= 0) & ~people["left"]
        coupled &= people["pid"] < np.where(partner_pos >= 0, people["partner"], -1)
        first = np.flatnonzero(coupled)
        second = partner_pos[first]
        state = self.households["state"][self.household_positions()[first]]
        rate = np.choose(state, list(demography.separation))
        splitting = self.rng.random(len(first)) < rate
        first, second = first[splitting], second[splitting]
        # In opposite-sex couples the man leaves more often; otherwise either.
        man_first = people["sex"][first] == MALE
        leaver = np.where(man_first, first, second)
        flip = self.rng.random(len(first)) < 0.15
        leaver = np.where(flip, np.where(leaver == first, second, first), leaver)
        stayer = np.where(leaver == first, second, first)
        for a, b in ((leaver, stayer), (stayer, leaver)):
            people["ex_partner"][a] = people["pid"][b]
            people["separated"][a] = self.q
            people["partner"][a] = NONE
        stays = self.rng.random(len(leaver)) < demography.separated_partner_stays
        self._depart(leaver[~stays])
        self._new_households(leaver[stays])
        self._revert_surnames(np.concatenate([leaver[stays], stayer]))

    def _revert_surnames(self, positions: I64) -> None:
        """Some women who took a partner's surname go back to their own after separating."""
        people = self.people
        took = people["surname"][positions] != people["birth_surname"][positions]
        took &= people["sex"][positions] == FEMALE
        reverting = positions[
            took & (self.rng.random(len(positions)) < self.settings.demography.reverts_surname)
        ]
        self._change_surname(reverting, people["birth_surname"][reverting], "separation")

    def _change_surname(self, positions: I64, new: NDArray[np.integer], reason: str) -> None:
        people = self.people
        self._log_changes(positions, "surname", people["surname"][positions], new, reason)
        people["prev_surname"][positions] = people["surname"][positions]
        people["surname"][positions] = new
        people["surname_changed"][positions] = self.q

    def _log_changes(
        self, positions: I64, field: str, old: NDArray[Any], new: NDArray[Any], reason: str
    ) -> None:
        """Note name changes for the truth's identity_changes.csv (one person may change twice in a
        quarter: separating, then taking a new partner's name)."""
        table = self.names.surnames if field == "surname" else self.names.given
        for pid, before, after in zip(
            self.people["pid"][positions].tolist(), old.tolist(), new.tolist(), strict=True
        ):
            self.name_changes.append((self.q, pid, field, table[before], table[after], reason))

    def take_name_changes(self) -> list[tuple[int, int, str, str, str, str]]:
        """Name changes since the last call: (quarter, person id, field, old, new, reason)."""
        changes, self.name_changes = self.name_changes, []
        return changes

    def _partner_up(self, age: NDArray[np.int16]) -> None:
        """Single adults form couples with other single residents of about their age."""
        people = self.people
        rng = self.rng
        demography = self.settings.demography
        single = (people["partner"] < 0) & (age >= 20) & (age <= 55) & ~people["left"]
        seeking = np.flatnonzero(single & (rng.random(len(age)) < demography.partnering))
        men = seeking[people["sex"][seeking] == MALE]
        women = seeking[people["sex"][seeking] == FEMALE]
        men = men[np.argsort(age[men] + rng.normal(0, 3, len(men)), kind="stable")]
        women = women[np.argsort(age[women] + rng.normal(0, 3, len(women)), kind="stable")]
        pairs = min(len(men), len(women))
        hh_pos = self.household_positions()
        has_children = np.zeros(len(self.households), dtype=bool)
        has_children[hh_pos[self.dependent(age) & ~people["left"]]] = True
        sizes = np.bincount(hh_pos[~people["left"]], minlength=len(self.households))
        for man, woman in zip(men[:pairs].tolist(), women[:pairs].tolist(), strict=True):
            self._couple(man, woman, has_children, sizes, hh_pos)

    def _couple(self, man: int, woman: int, has_children: Mask, sizes: I64, hh_pos: I64) -> None:
        people = self.people
        if people["hh"][man] == people["hh"][woman]:
            return
        man_kids, woman_kids = has_children[hh_pos[man]], has_children[hh_pos[woman]]
        if man_kids and woman_kids:
            return  # two families with children stay in their own homes
        if woman_kids or (not man_kids and sizes[hh_pos[woman]] == 1):
            mover, host = man, woman
        else:
            mover, host = woman, man
        self._join(np.array([mover]), np.array([host]))
        people["partner"][man] = people["pid"][woman]
        people["partner"][woman] = people["pid"][man]
        demography = self.settings.demography
        if self.rng.random() < demography.woman_takes_surname:
            family = int(self.names.masculine[people["surname"][man]])
            if family >= 0:
                self._change_surname(
                    np.array([woman]), self.names.feminine[[family]], "partnership"
                )
        elif self.rng.random() < demography.man_takes_surname:
            family = int(self.names.masculine[people["birth_surname"][woman]])
            if family >= 0:
                self._change_surname(np.array([man]), np.array([family]), "partnership")

    def _births(self, age: NDArray[np.int16]) -> None:
        people = self.people
        rng = self.rng
        demography = self.settings.demography
        rate = np.zeros(len(age))
        for low, high, p in demography.birth:
            rate[(age >= low) & (age <= high)] = p
        women = (people["sex"] == FEMALE) & ~people["left"]
        partner_pos = self.people.positions(people["partner"])
        with_man = (partner_pos >= 0) & (people["sex"][np.maximum(partner_pos, 0)] == MALE)
        rate = np.where(with_man, rate, rate * demography.birth_without_partner)
        mothers = np.flatnonzero(women & (rng.random(len(age)) < rate)).astype(np.int64)
        twins = rng.random(len(mothers)) < self.settings.families.twins
        mothers = np.concatenate([mothers, mothers[twins]])
        first, last = self.days()
        born = rng.integers(first, last + 1, size=len(mothers) - int(twins.sum()))
        birthdays: NDArray[np.int32] = np.concatenate([born, born[twins]]).astype(np.int32)
        self._babies(mothers, birthdays, partner_pos, with_man)

    def _babies(
        self, mothers: I64, born: NDArray[np.int32], partner_pos: I64, with_man: Mask
    ) -> None:
        people = self.people
        rng = self.rng
        families = self.settings.families
        n = len(mothers)
        if n == 0:
            return
        fathers = np.where(with_man[mothers], partner_pos[mothers], NONE)
        sex = (rng.random(n) < 0.512).astype(np.int8)
        father_family = self.names.masculine[people["surname"][np.maximum(fathers, 0)]]
        mother_family = self.names.masculine[people["birth_surname"][mothers]]
        use_father = (fathers >= 0) & (father_family >= 0)
        use_father &= rng.random(n) < families.children_take_fathers_surname
        family = np.where(use_father | (mother_family < 0), father_family, mother_family)
        family = np.where(family < 0, people["surname"][mothers], family).astype(np.int32)
        surname = self.names.surname_for(family, sex == FEMALE)
        origin = np.where(
            (fathers >= 0) & (rng.random(n) < 0.5),
            people["origin"][np.maximum(fathers, 0)],
            people["origin"][mothers],
        ).astype(np.int8)
        given = self.maker._given_names(origin, sex)
        batch = {
            "hh": people["hh"][mothers],
            "sex": sex,
            "dob": born,
            "origin": origin,
            "given": given,
            "surname": surname,
            "birth_surname": surname,
            "prev_surname": np.full(n, NONE, np.int32),
            "surname_changed": np.full(n, NEVER, np.int16),
            "mother": mothers,
            "father": fathers,
            "partner": np.full(n, NONE, np.int64),
            "contact": mothers,
            "lone_parent": np.zeros(n, bool),
        }
        self._add_babies(batch)

    def _add_babies(self, batch: dict[str, NDArray[Any]]) -> None:
        """Babies join their mother's household (their parents referred to by position)."""
        people = self.people
        n = len(batch["hh"])
        pids = self.next_pid + np.arange(n, dtype=np.int64)
        self.next_pid += n

        def pid_of(positions: NDArray[Any]) -> I64:
            pos = positions.astype(np.int64)
            return np.where(pos >= 0, people["pid"][np.maximum(pos, 0)], NONE)

        rows = _new_people(n)
        rows.update(
            pid=pids,
            sex=batch["sex"],
            dob=batch["dob"],
            origin=batch["origin"],
            given=batch["given"],
            surname=batch["surname"],
            birth_surname=batch["birth_surname"],
            hh=batch["hh"],
            mother=pid_of(batch["mother"]),
            father=pid_of(batch["father"]),
            contact=pid_of(batch["contact"]),
            arrived=np.full(n, self.q, np.int16),
        )
        self._individual_traits(rows, n)
        self._moved()
        positions = self.people.append(rows)
        self._twins(positions)

    def _children_move(self, age: NDArray[np.int16]) -> None:
        """Children whose other parent lives elsewhere in the borough sometimes move to them."""
        people = self.people
        rng = self.rng
        rate = self.settings.demography.child_moves_to_other_parent
        candidates = self.dependent(age) & ~people["left"] & (rng.random(len(age)) < rate)
        for child in np.flatnonzero(candidates).tolist():
            for column in ("father", "mother"):
                pos = int(self.people.positions(people[column][[child]])[0])
                if (
                    pos >= 0
                    and not people["left"][pos]
                    and people["hh"][pos] != people["hh"][child]
                ):
                    carer = self._parent_at_home(child)
                    self._join(np.array([child]), np.array([pos]))
                    named_elsewhere = (
                        rng.random() < self.settings.families.records_name_other_parent
                    )
                    people["contact"][child] = (
                        carer if named_elsewhere and carer >= 0 else people["pid"][pos]
                    )
                    break

    def _parent_at_home(self, child: int) -> int:
        people = self.people
        for column in ("mother", "father"):
            pos = int(self.people.positions(people[column][[child]])[0])
            if pos >= 0 and people["hh"][pos] == people["hh"][child]:
                return int(people["pid"][pos])
        return NONE

    def _given_name_changes(self) -> None:
        people = self.people
        changing = np.flatnonzero(
            (self.rng.random(len(people)) < self.settings.demography.changes_given_name)
            & ~people["left"]
        )
        if len(changing) == 0:
            return
        new = self.maker._given_names(people["origin"][changing], people["sex"][changing])
        differs = new != people["given"][changing]
        changing, new = changing[differs], new[differs]
        self._log_changes(changing, "given_name", people["given"][changing], new, "deed_poll")
        people["prev_given"][changing] = people["given"][changing]
        people["given"][changing] = new
        people["given_changed"][changing] = self.q

    def _remove_departed(self) -> Departed:
        """Take out people who left and households left empty; returns who left."""
        people = self.people
        left = people["left"]
        departed = Departed(people["pid"][left], np.isin(people["pid"][left], self._dead))
        self._departed_rows = {k: v[left] for k, v in people.columns.items()}
        people.keep(~left)
        self._moved()
        hh_pos = self.household_positions()
        sizes = np.bincount(hh_pos, minlength=len(self.households))
        empty = sizes == 0
        self.places.homes["occupied"][self.households["home"][empty]] = False
        self.households.keep(~empty)
        self._moved()
        return departed

    def departed_rows(self) -> dict[str, NDArray[Any]]:
        """The rows (all columns) of the people taken out by the last quarter's demography."""
        return self._departed_rows

    def _arrivals(self) -> None:
        """Households move in to make up for leavers and deaths, and to grow the population."""
        growth = (1 + self.settings.demography.annual_growth) ** (self.q / 4)
        needed = round(self.target * growth) - len(self.people)
        if needed <= 0:
            return
        batch = self.maker.make(needed, self.days()[0])[1]
        batch["hh"] = batch["hh"] + 0  # local ids; _add_people numbers them
        self._add_people(batch, arrived=self.q)
