"""Operations on staff and assignments."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kinfold.access import services as access
from kinfold.access.policy import Action
from kinfold.audit import services as audit
from kinfold.audit.events import Event
from kinfold.people.models import Family
from kinfold.staff.models import Assignment, Role, User


def key_workers() -> list[User]:
    return list(
        User.objects.filter(role=Role.KEY_WORKER, is_active=True).order_by("last_name", "username")
    )


def staff_directory() -> list[User]:
    return list(
        User.objects.select_related("organisation").order_by("organisation__name", "last_name")
    )


def allocate(manager: User, fid: str, key_worker: User) -> Assignment:
    """Allocate family `fid` to `key_worker`, ending any current allocation. Audited."""
    family = Family.objects.filter(fid=fid).first()
    if family is None:
        access.audit_actor_denied_lookup(manager, f"family:{fid[:32]}", "identification")
        raise access.NotFound(fid)
    access.require(manager, Action.ASSIGN, "identification", family=family)
    if key_worker.role != Role.KEY_WORKER:
        raise ValueError("only key workers can be allocated families")
    with transaction.atomic():
        Assignment.objects.current().filter(family=family).update(ended_at=timezone.now())
        assignment = Assignment.objects.create(
            family=family, key_worker=key_worker, assigned_by=manager
        )
        audit.record(
            access.actor_for(manager),
            Event.FAMILY_ASSIGNED,
            resource=f"family:{family.fid}",
            subjects=[family.fid],
            purpose="identification",
            reason=f"allocated to key worker {key_worker.username}",
            details={"key_worker": key_worker.username},
        )
    return assignment
