"""Fixtures shared by the whole suite: the agreements, one user and one signed-in client per role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from kinfold.agreements.models import Agreement
from kinfold.agreements.services import load_folder
from kinfold.audit.actors import Actor
from kinfold.people import services
from kinfold.people.models import Family
from kinfold.programme.models import Journey, State
from kinfold.staff.models import Assignment, User
from tests.factories import UserFactory, add_member, add_record

PASSWORD = "correct horse battery staple"


@pytest.fixture
def agreements(db: None) -> None:
    """The repository's real agreements folder, loaded (they are what the product enforces)."""
    if not Agreement.objects.exists():
        load_folder(Actor.system("test-setup", "pytest"))


@pytest.fixture
def make_user(agreements: None) -> Callable[..., User]:
    def make(**traits: object) -> User:
        return UserFactory(**traits)

    return make


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def key_worker(make_user: Callable[..., User]) -> User:
    return make_user(username="kw.amara", key_worker=True)


@pytest.fixture
def other_key_worker(make_user: Callable[..., User]) -> User:
    return make_user(username="kw.tom", key_worker=True)


@pytest.fixture
def manager(make_user: Callable[..., User]) -> User:
    return make_user(username="mgr.jo", manager=True)


@pytest.fixture
def analyst(make_user: Callable[..., User]) -> User:
    return make_user(username="an.sam", analyst=True)


@pytest.fixture
def dpo(make_user: Callable[..., User]) -> User:
    return make_user(username="dpo.priya", dpo=True)


@pytest.fixture
def partner(make_user: Callable[..., User]) -> User:
    return make_user(username="police.lee", police=True)


@pytest.fixture
def da_practitioner(make_user: Callable[..., User]) -> User:
    """A practitioner at the domestic abuse service, which receives referrals (agreement v2)."""
    return make_user(username="das.kim", da_service=True)


@pytest.fixture
def administrator(make_user: Callable[..., User]) -> User:
    return make_user(username="admin.alex", admin=True)


@pytest.fixture
def key_worker_client(key_worker: User) -> Client:
    return _client_for(key_worker)


@pytest.fixture
def manager_client(manager: User) -> Client:
    return _client_for(manager)


@pytest.fixture
def dpo_client(dpo: User) -> Client:
    return _client_for(dpo)


@pytest.fixture
def family(agreements: None, key_worker: User, manager: User) -> Family:
    """A family of two allocated to `key_worker`, with flags and sealed details from partners."""
    fam = services.create_family("F7TESTFAMILY")
    parent = add_member(fam, "adult")
    child = add_member(
        fam,
        "child",
        identity={
            "given_name": "Sky",
            "surname": "Example",
            "dob": "2008-02-02",
            "address": "1 Test Street, Northfield",
            "postcode": "NF1 1AA",
        },
    )
    add_record(
        child,
        "northfield-schools",
        "education",
        "school.attendance",
        {"school": "Northfield Academy"},
        value=81.0,
    )
    add_record(
        parent,
        "northfield-nhs-trust",
        "health",
        "health.mental_health",
        {"service": "Community mental health team"},
    )
    Assignment.objects.create(family=fam, key_worker=key_worker, assigned_by=manager)
    # Contacted in the programme: its key worker may see its contact details (kinfold.programme).
    Journey.objects.create(
        family=fam,
        framework_id="national-2015",
        identified_quarter="2016Q1",
        problems=[],
        state=State.CONTACTED,
    )
    return fam
