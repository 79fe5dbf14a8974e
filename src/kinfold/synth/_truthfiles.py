"""The ground truth, written beside the extracts (DIR/truth/), quarter by quarter.

docs/synth.md documents every file and column. Files are streamed: nothing about past quarters is
kept in memory except what the family rules need (kinfold.synth.truth.FamilyTracker).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kinfold.quarters import Quarter
from kinfold.synth._borough import Borough
from kinfold.synth._dates import format_days
from kinfold.synth._events import CODES
from kinfold.synth._families import ROLES, Membership
from kinfold.synth._households import NEVER
from kinfold.synth._output import CsvFile, WrittenFile
from kinfold.synth._places import TENURES
from kinfold.synth.identifiers import EMAIL_DOMAIN, drama_phone, ni_numbers, upn_texts
from kinfold.synth.names import strip_accents
from kinfold.synth.truth import FamilyOutcome, problem_of

I64 = NDArray[np.int64]
Columns = dict[str, NDArray[Any]]

PERSONS = (
    "person_id", "given_name", "surname", "birth_surname", "previous_surname", "dob", "sex",
    "origin", "nhs_number", "ni_number", "upn", "phone", "email", "mother_id", "father_id",
    "twin_of", "same_name_as", "first_quarter", "last_quarter", "left",
)  # fmt: skip
MEMBERSHIP = (
    "person_id", "household_id", "family_id", "role", "uprn", "parent_elsewhere_of",
    "from_quarter", "to_quarter",
)  # fmt: skip
EVENTS = ("quarter", "person_id", "partner", "record_id", "code", "date", "value", "problem")
RECORDS = (
    "quarter", "partner", "record_id", "person_id", "related_person_id", "duplicate_of", "errors",
)  # fmt: skip
PROBLEMS = ("quarter", "family_id", "problem")
FAMILIES = (
    "family_id", "first_quarter", "last_quarter", "eligible_quarter", "eligible_problems",
    "improved_quarter", "improved_route", "relapsed_quarter",
)  # fmt: skip
CHANGES = ("quarter", "person_id", "field", "old", "new", "reason")
HOMES = ("uprn", "address", "postcode", "district", "tenure")
SCHOOLS = ("school_number", "name", "phase", "district")


def _text(value: int) -> str:
    return "" if value < 0 else str(value)


class TruthFiles:
    """Opens the truth files under DIR/truth and appends to them each quarter."""

    def __init__(self, root: Path, borough: Borough, ni_offset: int) -> None:
        self.root = root
        self.borough = borough
        self.ni_offset = ni_offset
        self.persons = CsvFile(root, "truth/persons.csv", PERSONS)
        self.membership = CsvFile(root, "truth/membership.csv", MEMBERSHIP)
        self.events = CsvFile(root, "truth/events.csv", EVENTS)
        self.records = CsvFile(root, "truth/records.csv", RECORDS)
        self.problems = CsvFile(root, "truth/problems.csv", PROBLEMS)
        self.changes = CsvFile(root, "truth/identity_changes.csv", CHANGES)
        # First and last quarter each family id was seen (ids are handed out in order).
        self.family_first: list[int] = []
        self.family_last: list[int] = []
        self._labels: dict[int, str] = {}
        names = borough.names
        # E-mail addresses use plain lower-case letters of the name.
        self._email_given = [_email_part(n) for n in names.given]
        self._email_surname = [_email_part(n) for n in names.surnames]

    def quarter_label(self, q: int) -> str:
        """The quarter `q` quarters after the start, as text (cached: called for every row)."""
        label = self._labels.get(q)
        if label is None:
            label = self._labels[q] = str(self.borough.start + q)
        return label

    # -- people --------------------------------------------------------------------------------

    def write_people(self, rows: Columns, last_q: int, died: NDArray[np.bool_] | None) -> None:
        """persons.csv rows for people leaving (`died` says who died) or still here at the end."""
        chunk = 50_000  # bounded memory: strings for a whole borough at once would be large
        for begin in range(0, len(rows["pid"]), chunk):
            part = {k: v[begin : begin + chunk] for k, v in rows.items()}
            self._write_people(part, last_q, None if died is None else died[begin : begin + chunk])

    def _write_people(self, rows: Columns, last_q: int, died: NDArray[np.bool_] | None) -> None:
        n = len(rows["pid"])
        names = self.borough.names
        given = [names.given[i] for i in rows["given"].tolist()]
        surname = [names.surnames[i] for i in rows["surname"].tolist()]
        born = [names.surnames[i] for i in rows["birth_surname"].tolist()]
        previous = [names.surnames[i] if i >= 0 else "" for i in rows["prev_surname"].tolist()]
        origin = [names.origins[i] for i in rows["origin"].tolist()]
        bodies = rows["upn"].astype(np.int64)
        upn = [t if b else "" for t, b in zip(upn_texts(bodies), bodies.tolist(), strict=True)]
        email = [
            f"{self._email_given[g]}.{self._email_surname[s]}{p % 100}@{EMAIL_DOMAIN}"
            for g, s, p in zip(
                rows["given"].tolist(), rows["surname"].tolist(), rows["pid"].tolist(), strict=True
            )
        ]
        left = ["" for _ in range(n)] if died is None else [
            "died" if d else "moved_away" for d in died.tolist()
        ]  # fmt: skip
        first = [self.quarter_label(max(int(a), 0)) for a in rows["arrived"].tolist()]
        self.persons.write_columns(
            [
                rows["pid"].tolist(),
                given,
                surname,
                born,
                previous,
                format_days(rows["dob"].astype(np.int32), "%Y-%m-%d"),
                ["M" if s == 1 else "F" for s in rows["sex"].tolist()],
                origin,
                [str(x) if x else "" for x in rows["nhs"].tolist()],
                ni_numbers(rows["pid"].astype(np.int64), self.ni_offset),
                upn,
                [drama_phone(int(i)) for i in rows["phone"].tolist()],
                email,
                [_text(x) for x in rows["mother"].tolist()],
                [_text(x) for x in rows["father"].tolist()],
                [_text(x) for x in rows["twin_of"].tolist()],
                [_text(x) for x in rows["same_as"].tolist()],
                first,
                [self.quarter_label(last_q)] * n,
                left,
            ]
        )

    # -- membership spells ---------------------------------------------------------------------

    def update_spells(self, members: Membership) -> None:
        """Close spells that changed this quarter and open new ones (membership.csv)."""
        b = self.borough
        people = b.people
        q = b.q
        home = b.households["home"][b.household_positions()]
        current = {
            "spell_hh": people["hh"],
            "spell_family": members.family,
            "spell_role": members.role,
            "spell_home": home,
            "spell_elsewhere": members.elsewhere,
        }
        changed = people["spell_from"] == NEVER
        for column, value in current.items():
            changed |= people[column] != value
        closing = np.flatnonzero(changed & (people["spell_from"] != NEVER))
        self._write_spells({k: v[closing] for k, v in people.columns.items()}, q - 1)
        for column, value in current.items():
            people[column][changed] = value[changed]
        people["spell_from"][changed] = q

    def close_spells(self, rows: Columns, last_q: int) -> None:
        """Close the open spells of people leaving, or of everyone at the end."""
        open_ = np.flatnonzero(rows["spell_from"] != NEVER)
        for begin in range(0, len(open_), 50_000):
            part = open_[begin : begin + 50_000]
            self._write_spells({k: v[part] for k, v in rows.items()}, last_q)

    def _write_spells(self, rows: Columns, to_q: int) -> None:
        if len(rows["pid"]) == 0:
            return
        uprn = self.borough.places.homes["uprn"]
        self.membership.write_columns(
            [
                rows["pid"].tolist(),
                rows["spell_hh"].tolist(),
                [_text(f) for f in rows["spell_family"].tolist()],
                [ROLES[r] for r in rows["spell_role"].tolist()],
                uprn[rows["spell_home"]].tolist(),
                [_text(f) for f in rows["spell_elsewhere"].tolist()],
                [self.quarter_label(int(f)) for f in rows["spell_from"].tolist()],
                [self.quarter_label(to_q)] * len(rows["pid"]),
            ]
        )

    # -- events, records, problems, families ---------------------------------------------------

    def write_events(
        self,
        partner: str,
        pids: I64,
        record_ids: Sequence[str],
        code: NDArray[np.int16],
        day: NDArray[np.int32],
        value: NDArray[np.float64],
    ) -> None:
        """events.csv: the true indicator events of one partner's rows this quarter."""
        for start in range(0, len(pids), 100_000):  # in pieces, to bound memory
            stop = start + 100_000
            self._write_events(partner, pids[start:stop], record_ids[start:stop], code[start:stop],
                               day[start:stop], value[start:stop])  # fmt: skip

    def _write_events(
        self,
        partner: str,
        pids: I64,
        record_ids: Sequence[str],
        code: NDArray[np.int16],
        day: NDArray[np.int32],
        value: NDArray[np.float64],
    ) -> None:
        label = self.quarter_label(self.borough.q)
        codes = [CODES[c] for c in code.tolist()]
        values = value.tolist()
        self.events.write_columns(
            [
                [label] * len(pids),
                pids.tolist(),
                [partner] * len(pids),
                record_ids,
                codes,
                format_days(day, "%Y-%m-%d"),
                ["" if v != v else f"{v:.1f}" for v in values],
                [
                    _text(problem_of(c, None if v != v else v) or -1)
                    for c, v in zip(codes, values, strict=True)
                ],
            ]
        )

    def write_records(self, columns: Sequence[Sequence[object]]) -> None:
        """records.csv rows: quarter, partner, record id, person, related person, duplicate of, errors."""
        self.records.write_columns(columns)

    def write_problems(self, pairs: list[tuple[int, int]]) -> None:
        label = self.quarter_label(self.borough.q)
        self.problems.write((label, family, problem) for family, problem in pairs)

    def note_families(self, families: I64) -> None:
        """Remember that these family ids exist this quarter."""
        q = self.borough.q
        if len(families) == 0:
            return
        top = int(families.max())
        while len(self.family_first) <= top:
            self.family_first.append(-1)
            self.family_last.append(-1)
        for family in families.tolist():
            if self.family_first[family] < 0:
                self.family_first[family] = q
            self.family_last[family] = q

    def write_changes(self) -> None:
        """identity_changes.csv: names changed this quarter, in the order they changed."""
        self.changes.write(
            (self.quarter_label(q), pid, field, old, new, reason)
            for q, pid, field, old, new, reason in self.borough.take_name_changes()
        )

    def close(self, outcomes: dict[int, FamilyOutcome]) -> list[WrittenFile]:
        """Write families.csv, homes.csv and schools.csv, and close everything."""
        families = CsvFile(self.root, "truth/families.csv", FAMILIES)
        rows = []
        for family, first in enumerate(self.family_first):
            if first < 0:
                continue
            outcome = outcomes.get(family, FamilyOutcome(family))
            rows.append(
                (
                    family,
                    self.quarter_label(first),
                    self.quarter_label(self.family_last[family]),
                    _quarter(outcome.eligible),
                    ";".join(str(p) for p in sorted(outcome.problems)),
                    _quarter(outcome.improved),
                    outcome.route,
                    _quarter(outcome.relapsed),
                )
            )
        families.write(rows)
        written = [f.close() for f in (self.persons, self.membership, self.events, self.records,
                                       self.problems, self.changes, families)]  # fmt: skip
        return [*written, self._homes(), self._schools()]

    def _homes(self) -> WrittenFile:
        places = self.borough.places
        homes = CsvFile(self.root, "truth/homes.csv", HOMES)
        homes.write(
            (
                int(places.homes["uprn"][i]),
                places.address(i),
                places.postcode(i),
                f"{places.area}{int(places.homes['district'][i]) + 1}",
                TENURES[int(places.homes["tenure"][i])],
            )
            for i in range(len(places.homes))
        )
        return homes.close()

    def _schools(self) -> WrittenFile:
        schools = CsvFile(self.root, "truth/schools.csv", SCHOOLS)
        area = self.borough.places.area
        schools.write(
            (s.number, s.name, s.phase, f"{area}{s.district + 1}")
            for s in self.borough.places.schools
        )
        return schools.close()


def _email_part(name: str) -> str:
    return "".join(c for c in strip_accents(name).lower() if c.isalpha())


def _quarter(quarter: Quarter | None) -> str:
    return "" if quarter is None else str(quarter)
