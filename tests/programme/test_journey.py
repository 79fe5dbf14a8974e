"""The journey's state machine: each transition by its named role, audited; illegal ones refused."""

from __future__ import annotations

import pytest

from kinfold.audit.models import AuditEntry
from kinfold.errors import NotPermitted
from kinfold.programme import journey as journeys
from kinfold.programme import progress
from kinfold.programme.models import Journey, JourneyStep, PlanItem, ProgressReview, State
from kinfold.staff.models import Assignment, User
from tests.factories import give_consent

pytestmark = pytest.mark.django_db


def at(
    journey: Journey, state: State, key_worker: User | None = None, manager: User | None = None
) -> Journey:
    """Put a journey in `state` directly (the transitions themselves are tested below)."""
    Journey.objects.filter(pk=journey.pk).update(state=state)
    if key_worker is not None and manager is not None:
        Assignment.objects.create(family=journey.family, key_worker=key_worker, assigned_by=manager)
    journey.refresh_from_db()
    return journey


def test_the_whole_journey_by_the_roles_named(
    improving: Journey, key_worker: User, manager: User, analyst: User
) -> None:
    journey = improving
    journeys.allocate(manager, journey, key_worker)
    journeys.contact(key_worker, journey)
    assert journeys.contact_released(journey.family)
    give_consent(
        journey.family.members.filter(role="adult").first().person,  # type: ignore[union-attr]
        "northfield-schools",
        "education",
        by=key_worker,
    )
    journeys.move(key_worker, journey, State.ENGAGED)
    items = progress.agree_plan(key_worker, journey)
    assert [(i.problem, i.measure) for i in items] == [
        ("crime", "No offence, antisocial behaviour or supervision in the family for six months"),
        (
            "education",
            (
                "No exclusion for six months, and every child who missed school attending at least "
                "90% for three consecutive terms"
            ),
        ),
    ]
    review = progress.review_progress(key_worker, journey)
    assert review.quarter == "2016Q3"
    assert review.summary["assessment"]["sustained"] == "2016Q3"
    journeys.move(key_worker, journey, State.ACHIEVED)
    journeys.move(manager, journey, State.SUSTAINED)
    journey.refresh_from_db()
    assert journey.state == State.SUSTAINED
    steps = list(JourneyStep.objects.filter(journey=journey).values_list("to_state", "role"))
    assert steps == [
        ("identified", "system"),
        ("allocated", "team_manager"),
        ("contacted", "key_worker"),
        ("engaged", "key_worker"),
        ("plan_agreed", "key_worker"),
        ("in_progress", "key_worker"),
        ("achieved", "key_worker"),
        ("sustained", "team_manager"),
    ]
    events = set(AuditEntry.objects.values_list("event", flat=True))
    for event in (
        "family:journey:identified",
        "family:journey:allocated",
        "family:journey:contacted",
        "family:contact:released",
        "family:journey:engaged",
        "family:plan:agreed",
        "family:progress:recorded",
        "family:outcome:achieved",
        "family:outcome:sustained",
    ):
        assert event in events


CASES = [
    # description, state, who, target, error, words
    (
        "a key worker cannot allocate",
        State.IDENTIFIED,
        "key_worker",
        State.ALLOCATED,
        NotPermitted,
        "team manager",
    ),
    (
        "contact before allocation",
        State.IDENTIFIED,
        "manager",
        State.CONTACTED,
        journeys.IllegalTransition,
        "cannot move to contacted",
    ),
    (
        "an analyst does not contact families",
        State.ALLOCATED,
        "analyst",
        State.CONTACTED,
        NotPermitted,
        "key worker",
    ),
    (
        "engaged needs consent on record",
        State.CONTACTED,
        "key_worker",
        State.ENGAGED,
        journeys.IllegalTransition,
        "consent",
    ),
    (
        "no plan before engagement",
        State.CONTACTED,
        "key_worker",
        State.PLAN_AGREED,
        journeys.IllegalTransition,
        "cannot move to plan agreed",
    ),
    (
        "a declined family is not reviewed",
        State.DECLINED,
        "key_worker",
        State.IN_PROGRESS,
        journeys.IllegalTransition,
        "cannot move to progress reviewed",
    ),
    (
        "sustained is confirmed by a manager",
        State.ACHIEVED,
        "key_worker",
        State.SUSTAINED,
        NotPermitted,
        "team manager",
    ),
    (
        "closing comes after the claim",
        State.SUSTAINED,
        "manager",
        State.CLOSED,
        journeys.IllegalTransition,
        "cannot move to closed",
    ),
    ("only an analyst claims", State.SUSTAINED, "manager", State.CLAIMED, NotPermitted, "analyst"),
    (
        "not suitable is a manager's call",
        State.ALLOCATED,
        "key_worker",
        State.NOT_SUITABLE,
        NotPermitted,
        "team manager",
    ),
    (
        "no such state",
        State.ALLOCATED,
        "key_worker",
        "finished",
        journeys.IllegalTransition,
        "not a state",
    ),
]


@pytest.mark.parametrize(
    ("description", "state", "who", "target", "error", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_illegal_transitions_are_refused_with_a_reason(
    casework: Journey,
    key_worker: User,
    manager: User,
    analyst: User,
    description: str,
    state: State,
    who: str,
    target: str,
    error: type[Exception],
    words: str,
) -> None:
    users = {"key_worker": key_worker, "manager": manager, "analyst": analyst}
    journey = at(casework, state, key_worker, manager)
    with pytest.raises(error, match=words):
        journeys.move(users[who], journey, target)
    journey.refresh_from_db()
    assert journey.state == state


def test_another_key_worker_cannot_move_the_journey(
    casework: Journey, key_worker: User, other_key_worker: User, manager: User
) -> None:
    journey = at(casework, State.ALLOCATED, key_worker, manager)
    with pytest.raises(NotPermitted):
        journeys.contact(other_key_worker, journey)
    assert not journeys.contact_released(journey.family)


def test_achieved_needs_the_computed_outcome(
    key_worker: User, manager: User, casework: Journey
) -> None:
    journey = at(casework, State.IN_PROGRESS, key_worker, manager)
    Journey.objects.filter(pk=journey.pk).update(sustained_quarter="", under_way_quarter="")
    journey.refresh_from_db()
    with pytest.raises(journeys.IllegalTransition, match="not achieved yet"):
        journeys.move(key_worker, journey, State.ACHIEVED)


def test_a_quarter_is_reviewed_once(casework: Journey, key_worker: User, manager: User) -> None:
    journey = at(casework, State.PLAN_AGREED, key_worker, manager)
    progress.review_progress(key_worker, journey)
    with pytest.raises(journeys.IllegalTransition, match="already been reviewed"):
        progress.review_progress(key_worker, journey)
    assert ProgressReview.objects.count() == 1
    assert PlanItem.objects.count() == 0


@pytest.mark.parametrize(
    ("state", "released"),
    [
        (State.IDENTIFIED, False),
        (State.ALLOCATED, False),
        (State.CONTACTED, True),
        (State.PLAN_AGREED, True),
        (State.CLAIMED, True),
        (State.DECLINED, False),
        (State.CLOSED, False),
        (State.MOVED_AWAY, False),
    ],
)
def test_contact_details_are_released_from_contacted_until_the_journey_ends(
    casework: Journey, state: State, released: bool
) -> None:
    assert journeys.contact_released(at(casework, state).family) is released
