"""What happens to the borough's people each quarter that a partner would record.

Every household is coping, struggling or in crisis; the state moves quarter by quarter (a Markov
chain) and scales the chance of each indicator event for everyone living there, which is what
makes problems cluster in families. Ongoing things (benefit claims, social-care cases, probation,
treatment, mental-health episodes, alternative provision) are statuses that start and end.

The result of a quarter is one table of rows per partner (`PartnerRows`): the people and facts the
partner's extract will carry, before any recording error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kinfold.synth._borough import IN_CRISIS, Borough
from kinfold.synth._dates import MISSING, day
from kinfold.synth._places import SOCIAL_RENT
from kinfold.synth._settings import Band, ByState

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]
Floats = NDArray[np.float64]

# Police occurrence kinds and the roles of people in them.
CRIME, ASB, DOMESTIC = 0, 1, 2
SUSPECT, VICTIM, REPORTED = 0, 1, 2
# Children's social care levels (0 = no open case).
EARLY_HELP, CHILD_IN_NEED, PROTECTION_PLAN, LOOKED_AFTER = 1, 2, 3, 4
# Housing case kinds; domestic abuse service kinds; health event kinds; exclusion kinds.
HOUSING_ASB, ARREARS, EVICTION = 0, 1, 2
MARAC, SUPPORT = 0, 1
MENTAL_HEALTH, INJURY, HEALTH_VISITING = 0, 1, 2
NO_EXCLUSION, FIXED, PERMANENT = 0, 1, 2
# How a benefit claim ended this quarter.
STILL_CLAIMING, INTO_WORK, OTHER_END = 0, 1, 2


@dataclass
class PartnerRows:
    """One partner's rows for a quarter: one person each (positions in the borough's people)."""

    partner: str
    person: I64
    columns: dict[str, NDArray[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.person)


def _rows(partner: str, person: I64, **columns: NDArray[Any]) -> PartnerRows:
    return PartnerRows(partner, person.astype(np.int64), dict(columns))


def _concat(partner: str, parts: list[PartnerRows]) -> PartnerRows:
    """One partner's rows from several kinds of row (all parts have the same columns)."""
    columns = {name: np.concatenate([p.columns[name] for p in parts]) for name in parts[0].columns}
    return PartnerRows(partner, np.concatenate([p.person for p in parts]), columns)


class Circumstances:
    """Draws a quarter's statuses and events for the borough."""

    def __init__(self, borough: Borough) -> None:
        self.borough = borough
        self.settings = borough.settings
        self.rng = borough.rng
        self.occurrences = 0  # police occurrence numbers run on across quarters

    # -- the quarter ---------------------------------------------------------------------------

    def step(self, produce: bool = True) -> dict[str, PartnerRows]:
        """Move household states on, then draw this quarter's statuses and events.

        With `produce` False (warming up before the first quarter) only states and statuses move.
        """
        self._transition_states()
        self._context()
        claims = self._claims()
        care = self._social_care()
        if not produce:
            self._statuses_only()
            return {}
        abuse = self._domestic_abuse()
        police, offenders, asb = self._police(abuse)
        probation_new = offenders[self.age[offenders] >= 18]
        rows = {
            "police": police,
            "yos": self._youth_offending(offenders),
            "probation": self._probation(probation_new),
            "schools": self._schools(),
            "csc": care,
            "dwp": claims,
            "housing": self._housing(asb),
            "das": abuse["das"],
            "health": self._health(),
            "substance": self._substance(),
        }
        # NHS numbers are handed out on first contact with a partner that records them.
        for partner in ("health", "substance", "csc"):
            self.borough.ensure_nhs(rows[partner].person)
        return rows

    def _statuses_only(self) -> None:
        self._probation(np.zeros(0, np.int64))
        self._health()
        self._substance()
        self._alternative_provision_ends()

    def _context(self) -> None:
        b = self.borough
        self.first, self.last = b.days()
        self.age = b.ages()
        self.hh_pos = b.household_positions()
        self.state = b.households["state"][self.hh_pos].astype(np.int64)
        tenure = b.places.homes["tenure"][b.households["home"]]
        self.social = (tenure == SOCIAL_RENT)[self.hh_pos]
        # People not yet born (the warm-up runs before some children's birthdays) have no events.
        self.risk = np.where(self.age >= 0, b.people["risk"], 0.0).astype(np.float64)
        self.n = len(self.age)

    def _by_state(self, rates: ByState) -> Floats:
        return np.asarray(rates, dtype=np.float64)[self.state]

    def _chance(self, p: Floats) -> Mask:
        return self.rng.random(self.n) < np.minimum(p, 1.0)

    def _days(self, count: int) -> NDArray[np.int32]:
        return self.rng.integers(self.first, self.last + 1, size=count).astype(np.int32)

    def _age_factor(self, bands: tuple[Band, ...]) -> Floats:
        factor = np.zeros(self.n)
        for low, high, value in bands:
            factor[(self.age >= low) & (self.age <= high)] = value
        return factor

    # -- family states -------------------------------------------------------------------------

    def _transition_states(self) -> None:
        b = self.borough
        circumstances = self.settings.circumstances
        matrix = np.asarray(circumstances.transitions(), dtype=np.float64)
        state = b.households["state"].astype(np.int64)
        rows = matrix[state].copy()
        # Families who have been in crisis before leave "coping" more easily.
        scarred = b.households["scar"] & (state == 0)
        rows[scarred, 1:] *= circumstances.relapse
        rows[scarred, 0] = np.maximum(0.0, 1.0 - rows[scarred, 1:].sum(axis=1))
        cumulative = np.cumsum(rows, axis=1)
        draw = self.rng.random(len(state))[:, None] * cumulative[:, -1:]
        new = (draw > cumulative).sum(axis=1).astype(np.int8)
        b.households["state"] = new
        b.households["scar"] |= new == IN_CRISIS

    # -- crime and antisocial behaviour --------------------------------------------------------

    def _police(self, abuse: dict[str, PartnerRows]) -> tuple[PartnerRows, I64, I64]:
        b = self.borough
        ind = self.settings.indicators
        male = np.where(b.people["sex"] == 1, ind.offence_male, 1.0)
        offence = self._by_state(ind.offence) * self._age_factor(ind.offence_ages) * male
        offenders = np.flatnonzero(self._chance(offence * self.risk))
        asb_p = self._by_state(ind.asb) * self._age_factor(ind.asb_ages) * self.risk
        asb = np.flatnonzero(self._chance(asb_p))
        parts = [
            self._occurrences(offenders, CRIME, SUSPECT),
            self._occurrences(asb, ASB, REPORTED),
            abuse["police"],
        ]
        return _concat("police", parts), offenders, asb

    def _occurrences(self, people: I64, kind: int, role: int) -> PartnerRows:
        count = len(people)
        numbers = self.occurrences + np.arange(count, dtype=np.int64)
        self.occurrences += count
        return _rows(
            "police",
            people,
            kind=np.full(count, kind, np.int8),
            role=np.full(count, role, np.int8),
            day=self._days(count),
            occurrence=numbers,
            offence=self.rng.integers(0, 12, size=count).astype(np.int8),
            outcome=self.rng.integers(0, 6, size=count).astype(np.int8),
        )

    def _youth_offending(self, offenders: I64) -> PartnerRows:
        young = offenders[(self.age[offenders] >= 10) & (self.age[offenders] <= 17)]
        referred = young[
            self.rng.random(len(young)) < self.settings.indicators.youth_offending_referral
        ]
        return _rows(
            "yos",
            referred,
            day=self._days(len(referred)),
            offence=self.rng.integers(0, 12, size=len(referred)).astype(np.int8),
            disposal=self.rng.integers(0, 5, size=len(referred)).astype(np.int8),
        )

    def _probation(self, new_offenders: I64) -> PartnerRows:
        people = self.borough.people
        ind = self.settings.indicators
        on = people["probation"].copy()
        ending = on & (self.rng.random(self.n) < ind.probation_ends)
        on &= ~ending
        starting = new_offenders[self.rng.random(len(new_offenders)) < ind.probation_starts]
        starting = starting[~on[starting]]
        on[starting] = True
        people["probation_start"][starting] = self._days(len(starting))
        people["probation"] = on
        supervised = np.flatnonzero(on)
        return _rows(
            "probation",
            supervised,
            start=people["probation_start"][supervised].astype(np.int32),
            order=(people["pid"][supervised] % 3).astype(np.int8),
        )

    # -- school attendance and exclusions ------------------------------------------------------

    def _pupils(self) -> I64:
        """Pupils on a school roll: reception to year 11, and sixth-formers at school."""
        b = self.borough
        quarter = b.quarter
        # The school year running at the quarter's end starts on 1 September.
        year_start = quarter.year if quarter.number >= 3 else quarter.year - 1
        age_aug = b.ages_on(day(date(year_start, 8, 31)))
        people = b.people
        on_roll = (age_aug >= 4) & (age_aug <= 15)
        on_roll |= (
            (age_aug >= 16) & (age_aug <= 17) & people["stays_in_education"] & people["sixth_form"]
        )
        self.age_aug = age_aug
        return np.flatnonzero(on_roll)

    def _assign_schools(self, pupils: I64) -> None:
        b = self.borough
        people = b.people
        phase_secondary = self.age_aug[pupils] >= 11
        district = b.places.homes["district"][b.households["home"][self.hh_pos[pupils]]]
        current = people["school"][pupils]
        schools = b.places.schools
        current_phase = np.array(
            [schools[s].phase == "secondary" if s >= 0 else False for s in current.tolist()]
        )
        current_district = np.array(
            [schools[s].district if s >= 0 else -1 for s in current.tolist()], dtype=np.int64
        )
        moved_far = (people["moved"][pupils] == b.q) & (current_district != district)
        needs = (current < 0) | (current_phase != phase_secondary) | moved_far
        for phase, is_secondary in (("primary", False), ("secondary", True)):
            pick = pupils[needs & (phase_secondary == is_secondary)]
            where = district[needs & (phase_secondary == is_secondary)]
            people["school"][pick] = b.places.pick_schools(phase, where, self.rng)

    def _schools(self) -> PartnerRows:
        b = self.borough
        people = b.people
        ind = self.settings.indicators
        pupils = self._pupils()
        self._assign_schools(pupils)
        b.ensure_upn(pupils)
        count = len(pupils)
        rng = self.rng
        possible = ind.sessions[b.quarter.number - 1]
        state = self.state[pupils]
        noise = np.exp(rng.normal(-(ind.absence_noise**2) / 2, ind.absence_noise, count))
        absence = people["absence"][pupils] * np.asarray(ind.absence_by_state)[state] * noise
        absence = np.clip(absence, 0.0, 0.95)
        attended = rng.binomial(possible, 1.0 - absence)
        percent = np.round(100.0 * attended / possible, 1)
        secondary = np.where(self.age_aug[pupils] >= 11, ind.secondary_exclusion_factor, 1.0)
        risk = self.risk[pupils] * secondary
        fixed = rng.random(count) < np.minimum(np.asarray(ind.fixed_exclusion)[state] * risk, 1)
        permanent = rng.random(count) < np.minimum(
            np.asarray(ind.permanent_exclusion)[state] * risk, 1
        )
        permanent &= ~people["ap"][pupils]
        exclusion = np.where(permanent, PERMANENT, np.where(fixed, FIXED, NO_EXCLUSION))
        self._alternative_provision_ends()
        people["ap"][pupils[permanent]] = True
        on_roll = _rows(
            "schools",
            pupils,
            school=people["school"][pupils].astype(np.int16),
            possible=np.full(count, possible, np.int16),
            attended=attended.astype(np.int16),
            percent=percent,
            exclusion=exclusion.astype(np.int8),
            exclusion_day=np.where(exclusion > 0, self._days(count), MISSING).astype(np.int32),
            ap=people["ap"][pupils].copy(),
            carer=self._carers(pupils),
        )
        return _concat("schools", [on_roll, self._college(pupils)])

    def _college(self, pupils: I64) -> PartnerRows:
        """Young people in education past school (16-19, at college or beyond a school's sixth
        form), as the council's participation tracking knows them: a row each quarter with no
        attendance, which is what shows an 18- or 19-year-old is still a dependent child."""
        people = self.borough.people
        past_school = (self.age_aug >= 16) & (self.age < 20) & people["stays_in_education"]
        past_school[pupils] = False
        students = np.flatnonzero(past_school)
        self.borough.ensure_upn(students)
        count = len(students)
        return _rows(
            "schools",
            students,
            school=np.full(count, -1, np.int16),
            possible=np.zeros(count, np.int16),
            attended=np.zeros(count, np.int16),
            percent=np.full(count, np.nan),
            exclusion=np.full(count, NO_EXCLUSION, np.int8),
            exclusion_day=np.full(count, MISSING, np.int32),
            ap=np.zeros(count, np.bool_),
            carer=self._carers(students),
        )

    def _alternative_provision_ends(self) -> None:
        people = self.borough.people
        ending = people["ap"] & (
            self.rng.random(self.n) < self.settings.indicators.alternative_provision_ends
        )
        people["ap"][ending] = False

    def _carers(self, children: I64) -> I64:
        """The parent or carer named on a child's records (positions; -1 for none in the borough)."""
        b = self.borough
        people = b.people
        named = b.people.positions(people["contact"][children])
        for column in ("mother", "father"):
            parent = b.people.positions(people[column][children])
            home = (parent >= 0) & (people["hh"][np.maximum(parent, 0)] == people["hh"][children])
            named = np.where(named >= 0, named, np.where(home, parent, -1))
        return named

    # -- children who need help ----------------------------------------------------------------

    def _social_care(self) -> PartnerRows:
        b = self.borough
        people = b.people
        ind = self.settings.indicators
        children = self.age < 18
        level = people["csc"].copy()
        open_case = level > 0
        ends = self._chance(self._by_state(ind.social_care_ends))
        level[open_case & (ends | ~children)] = 0
        abuse_recent = b.households["abuse"][self.hh_pos] >= b.q - 1
        start_p = self._by_state(ind.social_care_starts) * self.risk
        start_p = np.where(abuse_recent, start_p * ind.social_care_after_abuse, start_p)
        starting = children & (level == 0) & ~open_case & self._chance(start_p)
        new_level = 1 + self.rng.choice(4, size=self.n, p=np.asarray(ind.social_care_levels))
        level = np.where(starting, new_level, level).astype(np.int8)
        people["csc_start"][starting] = self._days(int(starting.sum()))
        people["csc"] = level
        cases = np.flatnonzero(level > 0)
        return _rows(
            "csc",
            cases,
            level=level[cases],
            start=people["csc_start"][cases].astype(np.int32),
            need=(people["pid"][cases] % 9).astype(np.int8),
            carer=self._carers(cases),
        )

    # -- worklessness and money ----------------------------------------------------------------

    def _claims(self) -> PartnerRows:
        b = self.borough
        people = b.people
        ind = self.settings.indicators
        adults = (self.age >= 18) & (self.age <= 66)
        claiming = people["claim"] & adults
        was_claiming = claiming.copy()
        ends = claiming & self._chance(self._by_state(ind.claim_ends))
        into_work = ends & (self.rng.random(self.n) < ind.claim_ends_in_work)
        starts = adults & ~claiming & self._chance(self._by_state(ind.claim_starts) * self.risk)
        people["claim_start"][starts] = self._days(int(starts.sum()))
        people["claim"] = (claiming & ~ends) | starts
        in_quarter = np.flatnonzero(was_claiming | starts)
        ended = np.where(into_work, INTO_WORK, np.where(ends, OTHER_END, STILL_CLAIMING))
        count = len(in_quarter)
        start = people["claim_start"][in_quarter].astype(np.int32)
        # A job starts after the claim did (a claim that started this quarter ended in it too).
        job_start = np.maximum(self._days(count), start)
        job_start = np.where(ended[in_quarter] == INTO_WORK, job_start, MISSING)
        return _rows(
            "dwp",
            in_quarter,
            start=start,
            ended=ended[in_quarter].astype(np.int8),
            job_start=job_start.astype(np.int32),
            benefit=(people["pid"][in_quarter] % 4).astype(np.int8),
        )

    def _housing(self, asb: I64) -> PartnerRows:
        b = self.borough
        ind = self.settings.indicators
        rng = self.rng
        tenants_asb = asb[self.social[asb]]
        cases = tenants_asb[rng.random(len(tenants_asb)) < ind.housing_asb_case]
        only = self.social & (self.age >= 10)
        only &= self._chance(self._by_state(ind.housing_only_asb) * self.risk)
        asb_cases = np.union1d(cases, np.flatnonzero(only))
        lead = self._lead_tenants()
        claimants = np.zeros(len(b.households), bool)
        claimants[self.hh_pos[b.people["claim"]]] = True
        arrears_p = np.asarray(ind.rent_arrears)[self.state[lead]]
        arrears_p = np.where(
            claimants[self.hh_pos[lead]], arrears_p * ind.claimant_arrears_factor, arrears_p
        )
        arrears = lead[rng.random(len(lead)) < np.minimum(arrears_p, 1)]
        evicted = arrears[rng.random(len(arrears)) < ind.eviction_notice]
        parts = []
        for people_, kind in ((asb_cases, HOUSING_ASB), (arrears, ARREARS), (evicted, EVICTION)):
            count = len(people_)
            parts.append(
                _rows(
                    "housing",
                    people_,
                    kind=np.full(count, kind, np.int8),
                    day=self._days(count),
                    balance=np.round(rng.gamma(2.0, 450.0, count), 2)
                    if kind != HOUSING_ASB
                    else np.zeros(count),
                    tenancy=b.households["hid"][self.hh_pos[people_]],
                )
            )
        return _concat("housing", parts)

    def _lead_tenants(self) -> I64:
        """One adult per social-rented household: the oldest."""
        adults = np.flatnonzero(self.social & (self.age >= 18))
        order = np.lexsort((-self.age[adults], self.hh_pos[adults]))
        adults = adults[order]
        first = np.ones(len(adults), dtype=bool)
        first[1:] = self.hh_pos[adults][1:] != self.hh_pos[adults][:-1]
        return adults[first]

    # -- domestic abuse ------------------------------------------------------------------------

    def _domestic_abuse(self) -> dict[str, PartnerRows]:
        b = self.borough
        people = b.people
        ind = self.settings.indicators
        rng = self.rng
        women = (people["sex"] == 0) & (self.age >= 16)
        partner = b.people.positions(people["partner"])
        ex = b.people.positions(people["ex_partner"])
        recent = (people["separated"] >= b.q - 4) & (ex >= 0)
        abuser = np.where(partner >= 0, partner, np.where(recent, ex, -1))
        at_risk = women & (abuser >= 0)
        abuser_male = people["sex"][np.maximum(abuser, 0)] == 1
        at_risk &= abuser_male
        p = self._by_state(ind.domestic_abuse) * self.risk
        victims = np.flatnonzero(at_risk & self._chance(p))
        perpetrators = abuser[victims]
        b.households["abuse"][self.hh_pos[victims]] = b.q
        days = self._days(len(victims))
        reported = rng.random(len(victims)) < ind.abuse_reported_to_police
        police = self._domestic_occurrences(
            victims[reported], perpetrators[reported], days[reported]
        )
        marac = rng.random(len(victims)) < ind.abuse_marac_referral
        support = rng.random(len(victims)) < ind.abuse_support_case
        das = []
        for mask, kind in ((marac, MARAC), (support, SUPPORT)):
            chosen = victims[mask]
            das.append(
                _rows(
                    "das",
                    chosen,
                    kind=np.full(len(chosen), kind, np.int8),
                    day=np.minimum(days[mask] + rng.integers(0, 20, len(chosen)), self.last).astype(
                        np.int32
                    ),
                    risk=rng.integers(0, 3, size=len(chosen)).astype(np.int8),
                )
            )
        return {"police": police, "das": _concat("das", das)}

    def _domestic_occurrences(
        self, victims: I64, perpetrators: I64, days: NDArray[np.int32]
    ) -> PartnerRows:
        count = len(victims)
        numbers = self.occurrences + np.arange(count, dtype=np.int64)
        self.occurrences += count
        people = np.concatenate([victims, perpetrators])
        return _rows(
            "police",
            people,
            kind=np.full(2 * count, DOMESTIC, np.int8),
            role=np.concatenate([np.full(count, VICTIM), np.full(count, SUSPECT)]).astype(np.int8),
            day=np.concatenate([days, days]),
            occurrence=np.concatenate([numbers, numbers]),
            offence=np.full(2 * count, 12, np.int8),
            outcome=np.tile(self.rng.integers(0, 6, size=count).astype(np.int8), 2),
        )

    # -- health --------------------------------------------------------------------------------

    def _episodes(self, column: str, eligible: Mask, starts: ByState, ends: ByState) -> Mask:
        people = self.borough.people
        on = people[column] & eligible
        on &= ~self._chance(self._by_state(ends))
        on |= eligible & ~people[column] & self._chance(self._by_state(starts) * self.risk)
        people[column] = on
        return on

    def _health(self) -> PartnerRows:
        ind = self.settings.indicators
        rng = self.rng
        episode = self._episodes(
            "mh", self.age >= 12, ind.mental_health_starts, ind.mental_health_ends
        )
        contact = np.flatnonzero(episode & (rng.random(self.n) < ind.mental_health_contact))
        young = self.age < 5
        adult = self.age >= 18
        injury_p = np.where(young, self._by_state(ind.injury_under_5), 0.0)
        injury_p = np.where(adult, self._by_state(ind.injury_adult), injury_p)
        injured = np.flatnonzero(self._chance(injury_p * self.risk))
        parts = []
        for people_, kind in ((contact, MENTAL_HEALTH), (injured, INJURY)):
            count = len(people_)
            parts.append(
                _rows(
                    "health",
                    people_,
                    kind=np.full(count, kind, np.int8),
                    day=self._days(count),
                    # Diagnosis groups 0-3 are mental health, 4-5 injuries (see _extracts.py).
                    group=np.where(
                        kind == INJURY,
                        4 + rng.integers(0, 2, size=count),
                        rng.integers(0, 4, size=count),
                    ).astype(np.int8),
                )
            )
        parts.append(self._health_visiting())
        return _concat("health", parts)

    def _health_visiting(self) -> PartnerRows:
        """The health visiting caseload: children under five, each with the quarter's last contact.

        Drawn from a generator of its own (seed and quarter), so that the caseload leaves every
        other draw of a seed's borough as it was.
        """
        b = self.borough
        rng = np.random.default_rng([b.seed, 4856, b.q + 1_000])  # q < 0 while warming up
        under_5 = (self.age >= 0) & (self.age < 5)
        seen = np.flatnonzero(
            under_5 & (rng.random(self.n) < self.settings.indicators.health_visiting)
        )
        count = len(seen)
        first, last = self.first, self.last
        return _rows(
            "health",
            seen,
            kind=np.full(count, HEALTH_VISITING, np.int8),
            day=rng.integers(first, last + 1, size=count).astype(np.int32),
            group=np.full(count, 6, np.int8),
        )

    def _substance(self) -> PartnerRows:
        ind = self.settings.indicators
        people = self.borough.people
        before = people["substance"].copy()
        eligible = (self.age >= 18) & (self.age <= 65)
        on = self._episodes("substance", eligible, ind.substance_starts, ind.substance_ends)
        new = on & ~before
        people["substance_start"][new] = self._days(int(new.sum()))
        treated = np.flatnonzero(on)
        return _rows(
            "substance",
            treated,
            day=np.maximum(self._days(len(treated)), people["substance_start"][treated]).astype(
                np.int32
            ),
            start=people["substance_start"][treated].astype(np.int32),
            drug=self.rng.integers(0, 5, size=len(treated)).astype(np.int8),
        )
