"""Contact details follow the journey: released to the key worker when the family is contacted,
for that family only, and withheld again once the journey ends (kinfold.access reads the fact)."""

from __future__ import annotations

import pytest

from kinfold.access import services as access
from kinfold.people import services as people
from kinfold.programme import journey as journeys
from kinfold.programme.models import Journey, State
from kinfold.staff.models import Assignment, User
from tests.factories import add_member

pytestmark = pytest.mark.django_db


def test_contact_details_are_released_by_the_contacted_step_only(
    casework: Journey, key_worker: User, manager: User
) -> None:
    add_member(casework.family, "adult", quarter="2016Q3")
    other = people.create_family()
    add_member(other, "adult", identity={"given_name": "Casey", "surname": "Hidden"})
    Assignment.objects.create(family=other, key_worker=key_worker, assigned_by=manager)
    Journey.objects.create(
        family=other, framework_id="national-2015", identified_quarter="2015Q4", problems=[]
    )
    journeys.allocate(manager, casework, key_worker)

    before = access.family_view(key_worker, casework.family.fid, "service-coordination")
    assert not before.contact_decision.allowed
    assert "once the family is contacted" in before.contact_decision.reason
    assert all(m.identity is None for m in before.members)

    journeys.contact(key_worker, casework)

    after = access.family_view(key_worker, casework.family.fid, "service-coordination")
    assert after.contact_decision.allowed
    assert any(m.identity and m.identity["surname"] == "Example" for m in after.members)
    still_other = access.family_view(key_worker, other.fid, "service-coordination")
    assert not still_other.contact_decision.allowed

    Journey.objects.filter(pk=casework.pk).update(state=State.CLOSED)
    closed = access.family_view(key_worker, casework.family.fid, "service-coordination")
    assert not closed.contact_decision.allowed
