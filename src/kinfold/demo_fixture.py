"""A small, hand-written demo borough: used until a quarter can be run from synthetic extracts.

Every person here is invented; addresses use a fictional street in the reserved-for-drama style,
telephone numbers come from Ofcom's drama range (01632 960xxx) and emails are at example.org.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from kinfold.agreements.models import DataCategory, Organisation
from kinfold.ingest.models import Bundle, Indicator, PartnerRecord, SealedDetail
from kinfold.ingest.sealing import seal_detail
from kinfold.people import keys, services, vault
from kinfold.people.models import Family, FamilyMember, Person

QUARTER = "2016Q1"

# fid, [(given, surname, dob, sex, role)], address, postcode, phone
FAMILIES = (
    (
        "F3N8Q2XKD7MA",
        [
            ("Kayla", "Brennan", "1984-06-02", "F", "adult"),
            ("Jayden", "Brennan", "2005-09-14", "M", "child"),
            ("Mia", "Brennan", "2009-01-30", "F", "child"),
        ],
        "14 Larch Row, Northfield",
        "NF4 7QX",
        "01632 960101",
    ),
    (
        "F9T4B6WZC2HE",
        [
            ("Tomasz", "Nowak", "1979-11-19", "M", "adult"),
            ("Agnieszka", "Nowak", "1981-03-08", "F", "adult"),
            ("Oliwia", "Nowak", "2007-05-21", "F", "child"),
        ],
        "3 Quarry Close, Northfield",
        "NF2 3BL",
        "01632 960102",
    ),
    (
        "F2R7M5YPJ8KS",
        [
            ("Grace", "Adebayo", "1990-02-11", "F", "adult"),
            ("Daniel", "Adebayo", "2010-07-04", "M", "child"),
        ],
        "Flat 9, Beacon House, Northfield",
        "NF1 8RT",
        "01632 960103",
    ),
    (
        "F6V3H9DNQ4GX",
        [
            ("Sean", "Murphy", "1975-08-25", "M", "adult"),
            ("Ryan", "Murphy", "2003-12-01", "M", "child"),
        ],
        "27 Mill Lane, Northfield",
        "NF3 5DW",
        "01632 960104",
    ),
)

# fid, member index, partner organisation, category, code, date, value, detail
EVENTS = (
    (
        "F3N8Q2XKD7MA",
        1,
        "northfield-schools",
        "education",
        "school.attendance",
        "2016-03-24",
        78.0,
        {"school": "Northfield Academy", "note": "Persistent absence, mostly Mondays"},
    ),
    (
        "F3N8Q2XKD7MA",
        1,
        "northfield-police",
        "antisocial-behaviour",
        "police.asb_incident",
        "2016-02-13",
        None,
        {"incident": "Group causing damage at the bus station"},
    ),
    (
        "F3N8Q2XKD7MA",
        2,
        "northfield-childrens-services",
        "vulnerable-children",
        "csc.child_in_need",
        "2016-01-20",
        None,
        {"plan": "Child in need plan: support at home"},
    ),
    (
        "F3N8Q2XKD7MA",
        0,
        "northfield-nhs-trust",
        "health",
        "health.mental_health",
        "2016-03-02",
        None,
        {"service": "Community mental health team", "note": "Referred by GP for anxiety"},
    ),
    (
        "F9T4B6WZC2HE",
        0,
        "dwp-northfield",
        "employment",
        "dwp.out_of_work_benefit",
        "2016-03-31",
        None,
        {"benefit": "Jobseeker's Allowance"},
    ),
    (
        "F9T4B6WZC2HE",
        2,
        "northfield-schools",
        "education",
        "school.exclusion_fixed",
        "2016-02-05",
        None,
        {"school": "Northfield Academy", "days": "3"},
    ),
    (
        "F2R7M5YPJ8KS",
        0,
        "northfield-da-service",
        "violence-in-the-home",
        "das.marac_referral",
        "2016-01-11",
        None,
        {"risk": "High (MARAC)"},
    ),
    (
        "F2R7M5YPJ8KS",
        0,
        "northfield-homes",
        "employment",
        "housing.rent_arrears",
        "2016-03-15",
        None,
        {"arrears": "Eight weeks"},
    ),
    (
        "F6V3H9DNQ4GX",
        1,
        "northfield-yos",
        "police-courts-probation",
        "yos.youth_offence",
        "2016-02-22",
        None,
        {"outcome": "Referral order, 6 months"},
    ),
    (
        "F6V3H9DNQ4GX",
        0,
        "northfield-recovery",
        "substance-misuse",
        "substance.treatment",
        "2016-01-07",
        None,
        {"programme": "Alcohol treatment, community"},
    ),
)


@transaction.atomic
def build() -> int:
    """Create the fixture families if none exist; returns how many families were made."""
    if Family.objects.exists():
        return 0
    orgs = {o.slug: o for o in Organisation.objects.all()}
    categories = {c.slug: c for c in DataCategory.objects.all()}
    persons: dict[str, list[Person]] = {}
    for fid, members, address, postcode, phone in FAMILIES:
        family = services.create_family(fid)
        persons[fid] = []
        for i, (given, surname, dob, sex, role) in enumerate(members):
            person = services.create_person(QUARTER, year_of_birth=int(dob[:4]))
            fields = {
                "given_name": given,
                "surname": surname,
                "dob": dob,
                "sex": sex,
                "address": address,
                "postcode": postcode,
            }
            if role == "adult":
                fields |= {
                    "phone": phone,
                    "email": f"{given.lower()}.{surname.lower()}@example.org",
                }
            vault.store(person, orgs["northfield-council"], f"{fid}-{i}", QUARTER, fields)
            FamilyMember.objects.create(family=family, person=person, role=role, quarter=QUARTER)
            persons[fid].append(person)
    bundles: dict[str, Bundle] = {}
    for n, (fid, index, org, category, code, day, value, detail) in enumerate(EVENTS):
        person = persons[fid][index]
        bundle = bundles.get(org) or Bundle.objects.create(
            organisation=orgs[org],
            quarter=QUARTER,
            file_name="demo-fixture",
            sha256=f"fixture-{org}",
        )
        bundles[org] = bundle
        record = PartnerRecord.objects.create(
            bundle=bundle,
            organisation=orgs[org],
            source_ref=f"R{n:04d}",
            quarter=QUARTER,
            person=person,
        )
        Indicator.objects.create(
            record=record,
            person=person,
            organisation=orgs[org],
            category=categories[category],
            code=code,
            date=date.fromisoformat(day),
            value=value,
        )
        SealedDetail.objects.create(
            record=record,
            person=person,
            category=categories[category],
            sealed=seal_detail(record, category, detail, keys.unwrap(person.data_key)),
        )
    return len(FAMILIES)
