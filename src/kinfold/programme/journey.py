"""The family's journey: explicit states, the transitions allowed between them, and who may make
each. Every transition is checked, recorded as a `JourneyStep` and audited; anything else is
refused with a message that says what is allowed instead.

    identified ─team manager─▶ allocated ─key worker─▶ contacted ─key worker─▶ engaged
                                                         │                        │
                                                         └─key worker─▶ declined  └─key worker─▶ plan agreed
    plan agreed ─key worker─▶ progress reviewed (each quarter) ─key worker─▶ outcomes achieved
    outcomes achieved ─team manager─▶ sustained ─analyst (results claim)─▶ claimed ─team manager─▶ closed
    exits: stepped up to social care, moved away (key worker or team manager), not suitable
    (team manager); declined and the exits close (team manager).

Reaching *contacted* releases the family's contact details from the vault, for this family only
(`contact_released`, read by `kinfold.access`). *Engaged* needs a consent on record; *achieved*
and *sustained* need the computed outcome (`outcomes.assess`) to show it — progress is never typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kinfold.access import services as access
from kinfold.access.policy import Action
from kinfold.audit import services as audit
from kinfold.audit.events import Event
from kinfold.consent.models import ConsentRecord, ConsentState
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.people.models import Family, FamilyMember
from kinfold.programme.models import IdentificationRun, Journey, JourneyStep, RunStatus, State
from kinfold.staff import services as staff
from kinfold.staff.models import Assignment, User

KEY_WORKER, TEAM_MANAGER, ANALYST = "key_worker", "team_manager", "analyst"
OPEN = frozenset(
    {
        State.IDENTIFIED,
        State.ALLOCATED,
        State.CONTACTED,
        State.ENGAGED,
        State.PLAN_AGREED,
        State.IN_PROGRESS,
        State.ACHIEVED,
        State.SUSTAINED,
    }
)
WORKING = frozenset(
    {
        State.CONTACTED,
        State.ENGAGED,
        State.PLAN_AGREED,
        State.IN_PROGRESS,
        State.ACHIEVED,
        State.SUSTAINED,
        State.CLAIMED,
    }
)
#: States in which the family counts as attached to the programme (an attachment fee is due).
ATTACHED = frozenset(
    {
        State.PLAN_AGREED,
        State.IN_PROGRESS,
        State.ACHIEVED,
        State.SUSTAINED,
        State.CLAIMED,
    }
)


class IllegalTransition(KinfoldError):
    """A transition the journey does not allow from its state, or not by this role."""

    exit_status = 5


Guard = Callable[[Journey], str]


@dataclass(frozen=True)
class Transition:
    """One allowed move: from these states, to `target`, by one of `roles`, recorded as `event`."""

    target: State
    sources: frozenset[State]
    roles: frozenset[str]
    event: Event
    action: str  # what the button says
    guard: Guard | None = None


def _consent_on_record(journey: Journey) -> str:
    members = FamilyMember.objects.filter(family_id=journey.family_id).values("person_id")
    given = ConsentRecord.objects.filter(
        Q(family_id=journey.family_id) | Q(person_id__in=members), state=ConsentState.GIVEN
    ).exists()
    return "" if given else "record the family's consent first: engaged means consent is on record"


def _outcome_reached(journey: Journey) -> str:
    if journey.sustained_quarter or journey.under_way_quarter:
        return ""
    return "the family's outcomes are not achieved yet: progress is computed from partners' flags"


def _outcome_sustained(journey: Journey) -> str:
    if journey.sustained_quarter:
        return ""
    return "the family's outcomes have not lasted long enough yet to count as sustained"


def _quarter_to_review(journey: Journey) -> str:
    if not journey.assessed_quarter or journey.assessed_quarter <= journey.identified_quarter:
        return "there is no quarter after identification to review yet"
    if journey.reviews.filter(quarter=journey.assessed_quarter).exists():
        return f"progress in {journey.assessed_quarter} has already been reviewed"
    return ""


EXITABLE = frozenset(OPEN - {State.IDENTIFIED})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        State.ALLOCATED,
        frozenset({State.IDENTIFIED}),
        frozenset({TEAM_MANAGER}),
        Event.JOURNEY_ALLOCATED,
        "Allocate to a key worker",
    ),
    Transition(
        State.CONTACTED,
        frozenset({State.ALLOCATED}),
        frozenset({KEY_WORKER}),
        Event.JOURNEY_CONTACTED,
        "Release contact details to contact the family",
    ),
    Transition(
        State.ENGAGED,
        frozenset({State.CONTACTED}),
        frozenset({KEY_WORKER}),
        Event.JOURNEY_ENGAGED,
        "The family agreed to work with us",
        _consent_on_record,
    ),
    Transition(
        State.DECLINED,
        frozenset({State.CONTACTED}),
        frozenset({KEY_WORKER}),
        Event.JOURNEY_DECLINED,
        "The family declined",
    ),
    Transition(
        State.PLAN_AGREED,
        frozenset({State.ENGAGED}),
        frozenset({KEY_WORKER}),
        Event.PLAN_AGREED,
        "Agree the family plan",
    ),
    Transition(
        State.IN_PROGRESS,
        frozenset({State.PLAN_AGREED, State.IN_PROGRESS, State.ACHIEVED}),
        frozenset({KEY_WORKER}),
        Event.PROGRESS_RECORDED,
        "Review this quarter's progress",
        _quarter_to_review,
    ),
    Transition(
        State.ACHIEVED,
        frozenset({State.IN_PROGRESS}),
        frozenset({KEY_WORKER}),
        Event.OUTCOME_ACHIEVED,
        "Record that the outcomes are achieved",
        _outcome_reached,
    ),
    Transition(
        State.SUSTAINED,
        frozenset({State.ACHIEVED}),
        frozenset({TEAM_MANAGER}),
        Event.OUTCOME_SUSTAINED,
        "Confirm the outcomes are sustained",
        _outcome_sustained,
    ),
    Transition(
        State.CLAIMED,
        frozenset({State.SUSTAINED}),
        frozenset({ANALYST}),
        Event.JOURNEY_CLAIMED,
        "Claim the results payment",
    ),
    Transition(
        State.CLOSED,
        frozenset(
            {
                State.CLAIMED,
                State.DECLINED,
                State.STEPPED_UP,
                State.MOVED_AWAY,
                State.NOT_SUITABLE,
            }
        ),
        frozenset({TEAM_MANAGER}),
        Event.JOURNEY_CLOSED,
        "Close the case",
    ),
    Transition(
        State.STEPPED_UP,
        EXITABLE,
        frozenset({KEY_WORKER, TEAM_MANAGER}),
        Event.JOURNEY_STEPPED_UP,
        "Stepped up to social care",
    ),
    Transition(
        State.MOVED_AWAY,
        EXITABLE | {State.IDENTIFIED},
        frozenset({KEY_WORKER, TEAM_MANAGER}),
        Event.JOURNEY_MOVED_AWAY,
        "The family moved away",
    ),
    Transition(
        State.NOT_SUITABLE,
        frozenset({State.IDENTIFIED, State.ALLOCATED, State.CONTACTED}),
        frozenset({TEAM_MANAGER}),
        Event.JOURNEY_NOT_SUITABLE,
        "Not suitable for the programme",
    ),
)
_BY_TARGET = {t.target: t for t in TRANSITIONS}


def transition_to(target: State | str) -> Transition:
    try:
        return _BY_TARGET[State(target)]
    except (KeyError, ValueError):
        raise IllegalTransition(f"'{target}' is not a state a journey can be moved to") from None


def state_label(state: str) -> str:
    return State(state).label


def allowed(journey: Journey, role: str) -> list[Transition]:
    """Transitions `role` could make from the journey's state (guards not yet checked)."""
    return [t for t in TRANSITIONS if journey.state in t.sources and role in t.roles]


def contact_released(family: Family) -> bool:
    """Whether the family's journey has reached *contacted* (and not ended): then, and only
    then, its key worker may see its members' contact details from the vault.

    `kinfold.access.facts` reads this as a fact for the VIEW_CONTACT decision.
    """
    return Journey.objects.filter(family=family, state__in=WORKING).exists()


def _purpose(user: User) -> str:
    return "service-coordination" if user.role == KEY_WORKER else "identification"


def move(
    user: User,
    journey: Journey,
    target: State | str,
    *,
    note: str = "",
    quarter: str = "",
    also: Callable[[], None] | None = None,
) -> JourneyStep:
    """Move `journey` to `target` as `user`, if the state, the role and the guard allow it.

    The decision to act on the family at all goes through `kinfold.access` (a key worker acts only
    on families allocated to them). `also` runs inside the same transaction (the plan, a review).
    Raises IllegalTransition (or NotPermitted) with the reason.
    """
    transition = transition_to(target)
    family = journey.family
    access.require(user, Action.VIEW_FAMILY, _purpose(user), family=family)
    if journey.state not in transition.sources:
        from_here = ", ".join(t.target.label.lower() for t in allowed(journey, user.role)) or (
            "nothing, for your role"
        )
        raise IllegalTransition(
            f"a journey that is {State(journey.state).label.lower()} cannot move to "
            f"{transition.target.label.lower()}; from here you can move it to: {from_here}"
        )
    if user.role not in transition.roles:
        who = " or ".join(r.replace("_", " ") for r in sorted(transition.roles))
        raise NotPermitted(f"only a {who} can move a journey to {transition.target.label.lower()}")
    if user.role == KEY_WORKER and not _is_key_worker(user, family):
        raise NotPermitted("you are not this family's key worker")
    if transition.guard is not None:
        reason = transition.guard(journey)
        if reason:
            raise IllegalTransition(reason)
    with transaction.atomic():
        previous = journey.state
        journey.state = transition.target
        journey.state_since = timezone.now()
        journey.save(update_fields=["state", "state_since"])
        step = JourneyStep.objects.create(
            journey=journey,
            from_state=previous,
            to_state=transition.target,
            by=user,
            actor=user.username,
            role=user.role,
            quarter=quarter or current_quarter(),
            note=note[:500],
        )
        if also is not None:
            also()
        audit.record(
            access.actor_for(user),
            transition.event,
            resource=f"family:{family.fid}",
            subjects=[family.fid],
            purpose=_purpose(user),
            reason=f"{State(previous).label} → {transition.target.label}",
            details={
                "from": previous,
                "to": transition.target.value,
                "framework": journey.framework_id,
            },
        )
    return step


def current_quarter() -> str:
    """The programme's current quarter: the latest quarter identification has run for. Steps are
    dated by it as well as by the clock, so the dashboard counts them in the data's quarters."""
    return (
        IdentificationRun.objects.filter(status=RunStatus.DONE)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .first()
        or ""
    )


def _is_key_worker(user: User, family: Family) -> bool:
    return Assignment.objects.current().filter(family=family, key_worker=user).exists()


def allocate(manager: User, journey: Journey, key_worker: User) -> JourneyStep:
    """Allocate the family to a key worker (the staff part's allocation) and move the journey."""
    transition = transition_to(State.ALLOCATED)
    if journey.state not in transition.sources:
        raise IllegalTransition(
            f"a journey that is {State(journey.state).label.lower()} is already past allocation; "
            "change its key worker on the family page"
        )
    if manager.role != TEAM_MANAGER:
        raise NotPermitted("only a team manager allocates families")
    staff.allocate(manager, journey.family.fid, key_worker)
    return move(manager, journey, State.ALLOCATED, note=f"allocated to {key_worker.username}")


def contact(key_worker: User, journey: Journey) -> JourneyStep:
    """Record contact: the family's contact details are released for this family only."""
    family = journey.family

    def released() -> None:
        members = FamilyMember.objects.filter(family=family).values_list("person__pid", flat=True)
        audit.record(
            access.actor_for(key_worker),
            Event.FAMILY_CONTACT_RELEASED,
            resource=f"family:{family.fid}",
            subjects=[family.fid, *sorted(set(members))],
            purpose="service-coordination",
            reason="contact details released to the family's key worker to contact them",
        )

    return move(key_worker, journey, State.CONTACTED, also=released)
