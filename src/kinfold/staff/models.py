"""Staff users, their roles and organisations, and key workers' assignments to families."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    KEY_WORKER = "key_worker", "Key worker"
    TEAM_MANAGER = "team_manager", "Team manager"
    ANALYST = "analyst", "Programme analyst"
    PARTNER_PRACTITIONER = "partner_practitioner", "Partner practitioner"
    DPO = "dpo", "Data protection officer"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):
    """A member of staff, at the council or a partner, with exactly one role."""

    role = models.CharField(max_length=24, choices=Role.choices)
    organisation = models.ForeignKey(
        "agreements.Organisation", on_delete=models.PROTECT, related_name="staff"
    )

    class Meta:
        ordering = ["username"]

    @property
    def organisation_slug(self) -> str:
        return self.organisation.slug if self.organisation_id else ""

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class ActiveAssignmentQuerySet(models.QuerySet["Assignment"]):
    def current(self) -> ActiveAssignmentQuerySet:
        return self.filter(ended_at__isnull=True)


class Assignment(models.Model):
    """A key worker working with a family, from allocation until the assignment ends."""

    family = models.ForeignKey(
        "people.Family", on_delete=models.CASCADE, related_name="assignments"
    )
    key_worker = models.ForeignKey(User, on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = ActiveAssignmentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["family"],
                condition=models.Q(ended_at__isnull=True),
                name="one_current_key_worker_per_family",
            )
        ]
