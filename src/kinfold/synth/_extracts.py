"""Partner extracts: one file per partner per quarter, each in that partner's own shape.

Column names, casing, date formats (ISO, dd/mm/yyyy, Excel serial days, 15-Mar-2016…), line endings
and identifier coverage differ by partner, as they do between real systems. The schemas in
config/schemas/<partner>.toml describe these files; a test reads every file back through them.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kinfold.synth._borough import Borough
from kinfold.synth._circumstances import (
    CRIME,
    DOMESTIC,
    FIXED,
    INTO_WORK,
    MARAC,
    OTHER_END,
    PERMANENT,
    SUSPECT,
    VICTIM,
    PartnerRows,
)
from kinfold.synth._dates import EXCEL_OFFSET, MISSING, as_date, format_days, quarter_days
from kinfold.synth._events import RecordNumbers, record_ids
from kinfold.synth._output import CsvFile, WrittenFile, hash_file
from kinfold.synth._recording import Recorded, Recorder
from kinfold.synth._settings import PARTNERS, Settings
from kinfold.synth.identifiers import EMAIL_DOMAIN, drama_phone, ni_numbers, upn_texts

I64 = NDArray[np.int64]
Column = list[Any]

#: The file each partner sends, inside extracts/<QUARTER>/.
FILES = {
    "police": "police.csv",
    "yos": "yos.csv",
    "probation": "probation.csv",
    "schools": "schools.csv",
    "csc": "csc.csv",
    "dwp": "dwp.csv",
    "housing": "housing.csv",
    "das": "das.xlsx",
    "health": "health.csv",
    "substance": "substance.csv",
}

OFFENCES = (
    "Theft from shop", "Criminal damage", "Common assault", "Burglary dwelling",
    "Possession of cannabis", "Public order offence", "Theft of vehicle", "Robbery",
    "Assault occasioning ABH", "Possession of offensive weapon", "Fraud by false representation",
    "Handling stolen goods", "Domestic abuse incident",
)  # fmt: skip
POLICE_OUTCOMES = ("Charged", "Cautioned", "Community resolution", "No further action",
                   "Under investigation", "Penalty notice")  # fmt: skip
YOUTH_DISPOSALS = ("Referral order", "Youth rehabilitation order", "Youth caution",
                   "Youth conditional caution", "Detention and training order")  # fmt: skip
PROBATION_ORDERS = ("Community order", "Suspended sentence order", "Licence")
NEEDS = tuple(f"N{i}" for i in range(1, 10))
CSC_STATUSES = ("", "Early Help", "CIN", "CP Plan", "LAC")
BENEFITS = ("JSA", "ESA", "IS", "UC")
HOUSING_CASES = ("ASB", "Rent arrears", "Notice seeking possession")
DAS_KINDS = ("MARAC", "IDVA support")
RISK_LEVELS = ("Standard", "Medium", "High")
HEALTH_EVENTS = ("MH contact", "ED attendance - injury", "Health visiting contact")
HEALTH_GROUPS = (
    "Anxiety", "Depression", "Psychosis", "Self-harm", "Fracture", "Head injury",
    "Healthy child review",
)  # fmt: skip
SUBSTANCES = ("Alcohol", "Opiates", "Crack cocaine", "Cannabis", "Other")
COLLEGE = "Northfield College (post-16 participation)"
TERMS = {1: "Spring", 2: "Summer", 3: "Summer/Autumn", 4: "Autumn"}


#: Rows rendered at a time: strings for a whole schools census of a big borough would be large.
CHUNK = 50_000


@dataclass
class _Rows:
    """The rows of one extract: primary rows and duplicates, in the order they are written."""

    rows: PartnerRows
    source: I64  # index into rows for each written row
    ids: list[str]
    recorded: Recorded
    duplicate_of: list[str]

    def chunks(self, size: int) -> Iterator[_Rows]:
        """The rows in pieces of at most `size` (at least one piece, perhaps empty)."""
        for start in range(0, max(len(self.ids), 1), size):
            stop = start + size
            yield _Rows(
                self.rows,
                self.source[start:stop],
                self.ids[start:stop],
                self.recorded.slice(start, stop),
                self.duplicate_of[start:stop],
            )


class _Render:
    """Helpers that turn a partner's rows into columns in that partner's style."""

    def __init__(self, borough: Borough, extract: _Rows, ni_offset: int) -> None:
        self.b = borough
        self.x = extract
        self.people = borough.people
        self.person = extract.rows.person[extract.source]
        self.ni_offset = ni_offset
        self.first, self.last = quarter_days(borough.quarter)

    def col(self, name: str) -> NDArray[Any]:
        return self.x.rows.columns[name][self.x.source]

    def given(self, case: str) -> Column:
        return _case(self.x.recorded.given, case)

    def surname(self, case: str) -> Column:
        return _case(self.x.recorded.surname, case)

    def dob(self, fmt: str) -> Column:
        return format_days(self.x.recorded.dob, fmt)

    def days(self, values: NDArray[Any], fmt: str) -> Column:
        return format_days(values.astype(np.int32), fmt)

    def quarter_end(self, fmt: str) -> Column:
        return format_days(np.full(len(self.person), self.last, np.int32), fmt)

    def sex(self, male: str, female: str) -> Column:
        return [male if s == 1 else female for s in self.people["sex"][self.person].tolist()]

    def _covered(self, name: str) -> NDArray[np.bool_]:
        return self.x.recorded.covered[name]

    def address(self, style: int, upper: bool = False) -> Column:
        texts = self.b.places.addresses(self.x.recorded.home, style)
        covered = self._covered("address").tolist()
        if upper:
            return [t.upper() if ok else "" for t, ok in zip(texts, covered, strict=True)]
        return [t if ok else "" for t, ok in zip(texts, covered, strict=True)]

    def postcode(self) -> Column:
        texts = self.b.places.postcodes_of(self.x.recorded.home)
        covered = self._covered("address").tolist()
        return [t if ok else "" for t, ok in zip(texts, covered, strict=True)]

    def uprn(self) -> Column:
        uprns = self.b.places.homes["uprn"][self.x.recorded.home].tolist()
        return [
            u if ok else "" for u, ok in zip(uprns, self._covered("uprn").tolist(), strict=True)
        ]

    def nhs(self, spaced: bool = False) -> Column:
        numbers = self.people["nhs"][self.person].tolist()
        covered = self._covered("nhs_number").tolist()
        texts = [str(n) if n and ok else "" for n, ok in zip(numbers, covered, strict=True)]
        if spaced:
            texts = [f"{t[:3]} {t[3:6]} {t[6:]}" if t else "" for t in texts]
        return texts

    def ni(self) -> Column:
        numbers = ni_numbers(self.people["pid"][self.person].astype(np.int64), self.ni_offset)
        covered = self._covered("ni_number").tolist()
        return [n if ok else "" for n, ok in zip(numbers, covered, strict=True)]

    def upn(self) -> Column:
        bodies = self.people["upn"][self.person]
        covered = self._covered("upn").tolist()
        texts = upn_texts(bodies.astype(np.int64))
        return [
            t if u and ok else "" for t, u, ok in zip(texts, bodies.tolist(), covered, strict=True)
        ]

    def phone(self, style: str = "") -> Column:
        numbers = self.people["phone"][self.person].tolist()
        covered = self._covered("phone").tolist()
        texts = [drama_phone(int(n)) if ok else "" for n, ok in zip(numbers, covered, strict=True)]
        if style == "compact":
            texts = [t.replace(" ", "") for t in texts]
        return texts

    def email(self) -> Column:
        covered = self._covered("email").tolist()
        given = self.x.recorded.given
        surname = self.x.recorded.surname
        return [
            f"{_plain(g)}.{_plain(s)}{p % 100}@{EMAIL_DOMAIN}" if ok else ""
            for g, s, p, ok in zip(given, surname, self.people["pid"][self.person].tolist(), covered,
                                   strict=True)
        ]  # fmt: skip

    def labels(self, values: NDArray[Any], table: Sequence[str]) -> Column:
        return [table[int(v)] for v in values.tolist()]

    # -- the parent or carer a child's row names -------------------------------------------------

    def carer(self) -> NDArray[np.int64]:
        return self.col("carer").astype(np.int64)

    def _carer_names(self, column: str, table: NDArray[Any]) -> Column:
        carer = self.carer()
        picked = table[self.people[column][np.maximum(carer, 0)]].tolist()
        return [v if c >= 0 else "" for v, c in zip(picked, carer.tolist(), strict=True)]

    def carer_names(self, case: str) -> tuple[Column, Column]:
        names = self.b.names
        given = self._carer_names("given", names.given_table)
        surname = self._carer_names("surname", names.surname_table)
        return _case(given, case), _case(surname, case)

    def carer_relationship(self) -> Column:
        people = self.people
        carer = self.carer()
        carer_pid = people["pid"][np.maximum(carer, 0)]
        mother = people["mother"][self.person] == carer_pid
        father = people["father"][self.person] == carer_pid
        label = np.where(mother, "Mother", np.where(father, "Father", "Other"))
        return [
            str(t) if c >= 0 else "" for t, c in zip(label.tolist(), carer.tolist(), strict=True)
        ]

    def carer_address(self, style: int) -> tuple[Column, Column]:
        b = self.b
        home = b.households["home"][b.household_positions()]
        carer_home = home[np.maximum(self.carer(), 0)]
        addresses = b.places.addresses(carer_home, style)
        postcodes = b.places.postcodes_of(carer_home)
        carer = self.carer().tolist()
        return (
            [a if c >= 0 else "" for a, c in zip(addresses, carer, strict=True)],
            [p if c >= 0 else "" for p, c in zip(postcodes, carer, strict=True)],
        )

    def carer_dob(self, fmt: str) -> Column:
        carer = self.carer()
        dob = np.where(carer >= 0, self.people["dob"][np.maximum(carer, 0)], MISSING)
        return format_days(dob.astype(np.int32), fmt)


def _case(values: list[str], case: str) -> Column:
    if case == "upper":
        return [v.upper() for v in values]
    if case == "lower":
        return [v.lower() for v in values]
    return list(values)


def _plain(name: str) -> str:
    from kinfold.synth.names import strip_accents

    return "".join(c for c in strip_accents(name).lower() if c.isalpha())


# -- the partners' shapes -----------------------------------------------------------------------

Shape = Callable[[_Render], dict[str, Column]]


def _police(r: _Render) -> dict[str, Column]:
    kind = r.col("kind")
    role = r.col("role")
    return {
        "NOMINAL_REF": r.x.ids,
        "OCC_REF": [
            f"NF/{r.b.quarter.year % 100:02d}/{o:07d}" for o in r.col("occurrence").tolist()
        ],
        "OCC_DATE": r.days(r.col("day"), "%d/%m/%Y"),
        "OCC_TYPE": [
            "CRIME" if k == CRIME else "DOMESTIC" if k == DOMESTIC else "ASB" for k in kind.tolist()
        ],
        "ROLE": [
            "SUSPECT" if x == SUSPECT else "VICTIM" if x == VICTIM else "PERSON REPORTED"
            for x in role.tolist()
        ],
        "SURNAME": r.surname("upper"),
        "FORENAME": r.given("upper"),
        "DOB": r.dob("%d/%m/%Y"),
        "SEX": r.sex("M", "F"),
        "ADDRESS": r.address(1, upper=True),
        "POSTCODE": r.postcode(),
        "OFFENCE_DESC": r.labels(r.col("offence"), OFFENCES),
        "OUTCOME": r.labels(r.col("outcome"), POLICE_OUTCOMES),
    }


def _yos(r: _Render) -> dict[str, Column]:
    return {
        "YOS Ref": r.x.ids,
        "First Name": r.given("as_recorded"),
        "Last Name": r.surname("as_recorded"),
        "Date of Birth": r.dob("%Y-%m-%d"),
        "Gender": r.sex("Male", "Female"),
        "Address": r.address(0),
        "Postcode": r.postcode(),
        "Offence Date": r.days(r.col("day"), "%Y-%m-%d"),
        "Offence Type": r.labels(r.col("offence"), OFFENCES),
        "Disposal": r.labels(r.col("disposal"), YOUTH_DISPOSALS),
    }


def _probation(r: _Render) -> dict[str, Column]:
    return {
        "CRN": r.x.ids,
        "SURNAME": r.surname("upper"),
        "FIRST_NAMES": r.given("as_recorded"),
        "DATE_OF_BIRTH": r.dob("%d-%b-%Y"),
        "NI_NUMBER": r.ni(),
        "ADDRESS_LINE": r.address(1),
        "POSTCODE": r.postcode(),
        "ORDER_TYPE": r.labels(r.col("order"), PROBATION_ORDERS),
        "ORDER_START": r.days(r.col("start"), "%d-%b-%Y"),
        "SNAPSHOT_DATE": r.quarter_end("%d-%b-%Y"),
    }


def _schools(r: _Render) -> dict[str, Column]:
    schools = r.b.places.schools
    school = r.col("school").tolist()
    # Students past school (no school: -1) are at college, with no sessions or attendance.
    at_school = [s >= 0 for s in school]
    exclusion = r.col("exclusion")
    carer_given, carer_surname = r.carer_names("as_recorded")
    carer_address, carer_postcode = r.carer_address(0)
    return {
        "Pupil ID": r.x.ids,
        "UPN": r.upn(),
        "Legal Surname": r.surname("as_recorded"),
        "Forename": r.given("as_recorded"),
        "DOB": r.dob("%d/%m/%Y"),
        "Gender": r.sex("M", "F"),
        "Address": r.address(0),
        "Postcode": r.postcode(),
        "School": [schools[s].name if s >= 0 else COLLEGE for s in school],
        "School No": [schools[s].number if s >= 0 else "" for s in school],
        "Term": [TERMS[r.b.quarter.number]] * len(school),
        "Sessions Possible": _where_at_school(r.col("possible"), at_school),
        "Sessions Attended": _where_at_school(r.col("attended"), at_school),
        "Attendance %": ["" if p != p else f"{p:.1f}" for p in r.col("percent").tolist()],
        "Census Date": r.quarter_end("%d/%m/%Y"),
        "Exclusion Type": [
            "Fixed" if e == FIXED else "Permanent" if e == PERMANENT else ""
            for e in exclusion.tolist()
        ],
        "Exclusion Date": r.days(r.col("exclusion_day"), "%d/%m/%Y"),
        "Alternative Provision": ["Y" if a else "N" for a in r.col("ap").tolist()],
        "Contact Forename": carer_given,
        "Contact Surname": carer_surname,
        "Contact Relationship": r.carer_relationship(),
        "Contact Address": carer_address,
        "Contact Postcode": carer_postcode,
    }


def _where_at_school(values: NDArray[Any], at_school: list[bool]) -> Column:
    return [v if ok else "" for v, ok in zip(values.tolist(), at_school, strict=True)]


def _csc(r: _Render) -> dict[str, Column]:
    carer_given, carer_surname = r.carer_names("as_recorded")
    return {
        "ChildID": r.x.ids,
        "FirstName": r.given("as_recorded"),
        "LastName": r.surname("as_recorded"),
        "DateOfBirth": r.dob("%Y-%m-%d"),
        "Gender": r.sex("Male", "Female"),
        "NHSNumber": r.nhs(spaced=True),
        "AddressLine1": r.address(0),
        "PostCode": r.postcode(),
        "CaseStatus": r.labels(r.col("level"), CSC_STATUSES),
        "StartDate": r.days(r.col("start"), "%Y-%m-%d"),
        "PeriodEnd": r.quarter_end("%Y-%m-%d"),
        "CategoryOfNeed": r.labels(r.col("need"), NEEDS),
        "CarerFirstName": carer_given,
        "CarerLastName": carer_surname,
        "CarerDOB": r.carer_dob("%Y-%m-%d"),
        "CarerRelationship": r.carer_relationship(),
    }


def _dwp(r: _Render) -> dict[str, Column]:
    ended = r.col("ended")
    start = r.col("start")
    # Universal Credit replaced the older out-of-work benefits for new claims from mid-2018.
    uc_from = (date(2018, 6, 1) - date(1970, 1, 1)).days
    benefit = np.where(start >= uc_from, 3, r.col("benefit") % 3)
    return {
        "NINO": r.ni(),
        "CLAIM_REF": r.x.ids,
        "SURNAME": r.surname("upper"),
        "FORENAME": r.given("upper"),
        "DOB": r.dob("%Y%m%d"),
        "SEX": r.sex("M", "F"),
        "ADDRESS": r.address(1, upper=True),
        "POSTCODE": r.postcode(),
        "BENEFIT": r.labels(benefit, BENEFITS),
        "CLAIM_START": r.days(start, "%Y%m%d"),
        "EXTRACT_DATE": r.quarter_end("%Y%m%d"),
        "JOB_START": r.days(r.col("job_start"), "%Y%m%d"),
        "OFFFLOW_REASON": [
            "INTO WORK" if e == INTO_WORK else "OTHER" if e == OTHER_END else ""
            for e in ended.tolist()
        ],
        "TEL": r.phone("compact"),
        "EMAIL": r.email(),
    }


def _housing(r: _Render) -> dict[str, Column]:
    kind = r.col("kind")
    balance = r.col("balance").tolist()
    return {
        "CaseRef": r.x.ids,
        "TenancyRef": [f"T{t:07d}" for t in r.col("tenancy").tolist()],
        "UPRN": r.uprn(),
        "FirstName": r.given("as_recorded"),
        "Surname": r.surname("as_recorded"),
        "DOB": r.dob("excel"),
        "Address": r.address(2),
        "Postcode": r.postcode(),
        "CaseType": r.labels(kind, HOUSING_CASES),
        "CaseOpened": r.days(r.col("day"), "excel"),
        "ArrearsBalance": [
            f"{b:.2f}" if k else "" for b, k in zip(balance, kind.tolist(), strict=True)
        ],
        "Phone": r.phone(),
    }


def _das(r: _Render) -> dict[str, Column]:
    dob = r.x.recorded.dob
    return {
        "Referral ID": r.x.ids,
        "Client First Name": r.given("as_recorded"),
        "Client Surname": r.surname("as_recorded"),
        "Client DOB": [None if d == MISSING else as_date(d) for d in dob.tolist()],
        "Address": r.address(0),
        "Postcode": r.postcode(),
        "Safe Contact Number": r.phone(),
        "Referral Date": [as_date(d) for d in r.col("day").tolist()],
        "Referral Type": [
            DAS_KINDS[0] if k == MARAC else DAS_KINDS[1] for k in r.col("kind").tolist()
        ],
        "Risk Level": r.labels(r.col("risk"), RISK_LEVELS),
    }


def _health(r: _Render) -> dict[str, Column]:
    day = r.col("day")
    minutes = (r.people["pid"][r.person] * 37 + day) % (24 * 60)
    times = [f" {m // 60:02d}:{m % 60:02d}" for m in minutes.tolist()]
    return {
        "attendance_id": r.x.ids,
        "nhs_number": r.nhs(),
        "given_name": r.given("as_recorded"),
        "family_name": r.surname("as_recorded"),
        "birth_date": r.dob("%Y-%m-%d"),
        "gender": r.sex("male", "female"),
        "address_line": r.address(0),
        "post_code": r.postcode(),
        "event_type": r.labels(r.col("kind"), HEALTH_EVENTS),
        "event_datetime": [d + t for d, t in zip(r.days(day, "%Y-%m-%d"), times, strict=True)],
        "diagnosis_group": r.labels(r.col("group"), HEALTH_GROUPS),
    }


def _substance(r: _Render) -> dict[str, Column]:
    return {
        "Client Ref": r.x.ids,
        "Forename": r.given("as_recorded"),
        "Surname": r.surname("as_recorded"),
        "Date of Birth": r.dob("%d %b %Y"),
        "Sex": r.sex("m", "f"),
        "NHS No": r.nhs(),
        "Address": r.address(1),
        "Postcode": r.postcode(),
        "Episode Start": r.days(r.col("start"), "%d %b %Y"),
        "Contact Date": r.days(r.col("day"), "%d %b %Y"),
        "Primary Substance": r.labels(r.col("drug"), SUBSTANCES),
    }


SHAPES: dict[str, Shape] = {
    "police": _police,
    "yos": _yos,
    "probation": _probation,
    "schools": _schools,
    "csc": _csc,
    "dwp": _dwp,
    "housing": _housing,
    "das": _das,
    "health": _health,
    "substance": _substance,
}
# Line endings as the partner's system writes them; schools export from a spreadsheet with a BOM.
_CRLF = {"police", "schools", "housing"}
_BOM = {"schools"}


class ExtractWriter:
    """Writes each partner's quarterly file, with recording errors, and says what it wrote."""

    def __init__(self, root: Path, borough: Borough, settings: Settings, ni_offset: int) -> None:
        self.root = root
        self.borough = borough
        self.settings = settings
        self.ni_offset = ni_offset
        window = (
            settings.recording.stale_address_quarters,
            settings.recording.old_surname_quarters,
        )
        self.recorders = {
            p: Recorder(borough, settings.recording.partners[p], window) for p in PARTNERS
        }
        self.files: list[WrittenFile] = []

    def _rng(self, partner: str) -> np.random.Generator:
        """Recording errors draw from their own stream per partner and quarter, so they never
        change the borough itself (the truth is the same with or without extracts)."""
        key = (1, self.borough.q, PARTNERS.index(partner))
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.borough.seed, spawn_key=key))
        )

    def write(
        self,
        rows: PartnerRows,
        ids: list[str],
        numbers: RecordNumbers,
        records: Callable[[list[Column]], None],
    ) -> None:
        """Write one partner's extract for the quarter, passing records.csv columns to `records`."""
        partner = rows.partner
        rng = self._rng(partner)
        recorder = self.recorders[partner]
        extract = self._with_duplicates(rows, ids, numbers, recorder, rng)
        shape = SHAPES[partner]
        relative = f"extracts/{self.borough.quarter}/{FILES[partner]}"
        if FILES[partner].endswith(".xlsx"):
            columns = shape(_Render(self.borough, extract, self.ni_offset))
            self.files.append(_write_xlsx(self.root, relative, columns))
            records(self._records(extract))
            return
        out: CsvFile | None = None
        for chunk in extract.chunks(CHUNK):
            columns = shape(_Render(self.borough, chunk, self.ni_offset))
            if out is None:
                line_end = "\r\n" if partner in _CRLF else "\n"
                out = CsvFile(
                    self.root, relative, list(columns), line_end=line_end, bom=partner in _BOM
                )
            out.write_columns(list(columns.values()))
            records(self._records(chunk))
        assert out is not None  # chunks() yields at least one piece
        self.files.append(out.close())

    def _with_duplicates(
        self,
        rows: PartnerRows,
        ids: list[str],
        numbers: RecordNumbers,
        recorder: Recorder,
        rng: np.random.Generator,
    ) -> _Rows:
        n = len(rows)
        recorded = recorder.record(rows.person, rng)
        twice = np.flatnonzero(rng.random(n) < recorder.rates.duplicate)
        if len(twice) == 0:
            return _Rows(rows, np.arange(n, dtype=np.int64), ids, recorded, [""] * n)
        subset = PartnerRows(rows.partner, rows.person[twice],
                             {k: v[twice] for k, v in rows.columns.items()})  # fmt: skip
        pids = self.borough.people["pid"][subset.person]
        copy_ids = record_ids(subset, pids, self.borough.quarter.year, numbers, duplicate=True)
        copies = recorder.record(subset.person, rng)
        for errors in copies.errors:
            errors.append("duplicate")
        # Duplicates land anywhere in the file, as a second entry would.
        order = rng.permutation(n + len(twice))
        source = np.concatenate([np.arange(n), twice])[order]
        merged = Recorded(
            given=_pick(recorded.given + copies.given, order),
            surname=_pick(recorded.surname + copies.surname, order),
            dob=np.concatenate([recorded.dob, copies.dob])[order],
            home=np.concatenate([recorded.home, copies.home])[order],
            covered={
                k: np.concatenate([v, copies.covered[k]])[order]
                for k, v in recorded.covered.items()
            },
            errors=_pick(recorded.errors + copies.errors, order),
        )
        all_ids = _pick(ids + copy_ids, order)
        duplicate_of = _pick([""] * n + [ids[i] for i in twice.tolist()], order)
        return _Rows(rows, source.astype(np.int64), all_ids, merged, duplicate_of)

    def _records(self, extract: _Rows) -> list[Column]:
        people = self.borough.people
        n = len(extract.ids)
        person = extract.rows.person[extract.source]
        carer = extract.rows.columns.get("carer")
        related: Column = [""] * n
        if carer is not None:
            related = [
                "" if c < 0 else int(people["pid"][c]) for c in carer[extract.source].tolist()
            ]
        label = str(self.borough.quarter)
        return [
            [label] * n,
            [extract.rows.partner] * n,
            extract.ids,
            people["pid"][person].tolist(),
            related,
            extract.duplicate_of,
            [";".join(e) for e in extract.recorded.errors],
        ]

    def close(self) -> list[WrittenFile]:
        """Every extract written."""
        return self.files


def _pick(values: list[Any], order: NDArray[np.int64]) -> list[Any]:
    return [values[i] for i in order.tolist()]


def _write_xlsx(root: Path, relative: str, columns: dict[str, Column]) -> WrittenFile:
    """An XLSX workbook of one sheet, with real date cells, written byte-for-byte reproducibly."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    # openpyxl stamps the time of writing into the file; a fixed stamp keeps runs identical.
    fixed = datetime(2000, 1, 1)  # noqa: DTZ001 - a constant, not a time
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    sheet = workbook.create_sheet("Referrals")
    sheet.append(list(columns))
    for row in zip(*columns.values(), strict=True):
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    _normalise_zip(buffer.getvalue(), path)
    return hash_file(root, relative, len(next(iter(columns.values()))))


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _normalise_zip(data: bytes, path: Path) -> None:
    """Rewrite a zip with fixed timestamps (members, and the workbook's "modified" property, which
    openpyxl sets to the time of saving), so the same content gives the same bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            target.writestr(fixed, content)


__all__ = ["EXCEL_OFFSET", "FILES", "ExtractWriter"]
