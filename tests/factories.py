"""factory_boy factories for kinfold's models, with traits for the common states."""

from __future__ import annotations

from datetime import date
from typing import Any

import factory
from django.utils import timezone

from kinfold.agreements.models import DataCategory, Organisation, Purpose
from kinfold.consent.models import ConsentEvent, ConsentRecord, ConsentState
from kinfold.ingest.models import Bundle, Indicator, PartnerRecord, SealedDetail
from kinfold.ingest.sealing import seal_detail
from kinfold.people import keys, services, vault
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import Role, User


def organisation(slug: str) -> Organisation:
    return Organisation.objects.get(slug=slug)


STAFF_GIVEN_NAMES = ("Amara", "Kim", "Tomasz", "Priya", "Ade", "Grace", "Sam", "Yusuf")
STAFF_SURNAMES = ("Okafor", "Nowak", "Shah", "Mensah", "Hughes", "Ali", "Byrne")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    # Staff names from a fixed list, never Faker's: tests look for the family's vault identity
    # ("Robin Example") to prove it is withheld, and Faker can give a staff member Robin or Robinson.
    first_name = factory.Iterator(STAFF_GIVEN_NAMES)
    last_name = factory.Iterator(STAFF_SURNAMES)
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.KEY_WORKER
    organisation = factory.LazyFunction(lambda: organisation("northfield-council"))
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    class Params:
        key_worker = factory.Trait(role=Role.KEY_WORKER)
        manager = factory.Trait(role=Role.TEAM_MANAGER)
        analyst = factory.Trait(role=Role.ANALYST)
        dpo = factory.Trait(role=Role.DPO)
        admin = factory.Trait(role=Role.ADMIN)
        police = factory.Trait(
            role=Role.PARTNER_PRACTITIONER,
            organisation=factory.LazyFunction(lambda: organisation("northfield-police")),
        )
        da_service = factory.Trait(
            role=Role.PARTNER_PRACTITIONER,
            organisation=factory.LazyFunction(lambda: organisation("northfield-da-service")),
        )

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


class PersonFactory(factory.Factory):
    """Persons are made by the people service, which gives each its own data key."""

    class Meta:
        model = Person

    first_seen = "2016Q1"
    year_of_birth = 1985

    @classmethod
    def _create(cls, model_class: type[Person], *args: Any, **kwargs: Any) -> Person:
        return services.create_person(kwargs["first_seen"], year_of_birth=kwargs["year_of_birth"])


class FamilyFactory(factory.Factory):
    class Meta:
        model = Family

    @classmethod
    def _create(cls, model_class: type[Family], *args: Any, **kwargs: Any) -> Family:
        return services.create_family()


def add_member(
    family: Family,
    role: str = "adult",
    quarter: str = "2016Q1",
    identity: dict[str, str] | None = None,
) -> Person:
    """A person in `family`, with an identity sealed in the vault."""
    person = PersonFactory()
    FamilyMember.objects.create(family=family, person=person, role=role, quarter=quarter)
    fields = identity or {
        "given_name": "Robin",
        "surname": "Example",
        "dob": "1985-04-01",
        "address": "1 Test Street, Northfield",
        "postcode": "NF1 1AA",
        "phone": "01632 960999",
        "email": "robin.example@example.org",
    }
    vault.store(person, organisation("northfield-council"), f"test-{person.pid}", quarter, fields)
    return person


def add_record(
    person: Person,
    provider: str,
    category: str,
    code: str,
    detail: dict[str, str] | None = None,
    day: date = date(2016, 2, 1),
    value: float | None = None,
) -> PartnerRecord:
    """A partner record about `person` with one indicator and, if given, sealed detail."""
    org = organisation(provider)
    bundle, _ = Bundle.objects.get_or_create(
        organisation=org,
        quarter="2016Q1",
        sha256=f"test-{provider}",
        defaults={"file_name": "test.csv"},
    )
    record = PartnerRecord.objects.create(
        bundle=bundle,
        organisation=org,
        source_ref=f"R{PartnerRecord.objects.count()}",
        quarter="2016Q1",
        person=person,
    )
    cat = DataCategory.objects.get(slug=category)
    Indicator.objects.create(
        record=record,
        person=person,
        organisation=org,
        category=cat,
        code=code,
        date=day,
        value=value,
    )
    if detail is not None:
        SealedDetail.objects.create(
            record=record,
            person=person,
            category=cat,
            sealed=seal_detail(record, category, detail, keys.unwrap(person.data_key)),
        )
    return record


def give_consent(
    person: Person,
    provider: str,
    category: str,
    by: User | None = None,
    purpose: str = "service-coordination",
    recipient: str = "northfield-council",
) -> ConsentRecord:
    now = timezone.now()
    record = ConsentRecord.objects.create(
        person=person,
        purpose=Purpose.objects.get(slug=purpose),
        organisation=organisation(provider),
        recipient=organisation(recipient),
        category=DataCategory.objects.get(slug=category),
        method="written",
        notice_version="2016-01",
        valid_from=now,
        state=ConsentState.GIVEN,
        recorded_by=by,
    )
    ConsentEvent.objects.create(
        record=record, state=ConsentState.GIVEN, at=now, actor=by.username if by else "test"
    )
    return record
