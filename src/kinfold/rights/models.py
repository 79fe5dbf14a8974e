"""Requests from families (correction, objection), subject access requests, and erasures.

Nothing here holds clear personal data in a plain column: persons are foreign keys to pseudonymous
`people.Person` rows, and a family's own words (a correction request's text) are sealed under that
person's data key, so erasure shreds them with everything else.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FamilyRequest(models.Model):
    """A family member asked for a correction, or objected to the processing of their data."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        OBJECTION = "objection", "Objection"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld"  # objection upheld, or correction made
        REFUSED = "refused", "Refused"

    ref = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    made_by = models.CharField(max_length=32, help_text="pseudonymous id of who asked")
    category = models.ForeignKey(
        "agreements.DataCategory", on_delete=models.PROTECT, null=True, blank=True
    )
    organisation = models.ForeignKey(
        "agreements.Organisation", on_delete=models.PROTECT, null=True, blank=True
    )
    sealed_text = models.BinaryField(help_text="the family's words, sealed under the person's key")
    received_at = models.DateTimeField()
    due_by = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["kind", "status"])]


class SubjectAccessRequest(models.Model):
    """A request under UK GDPR Article 15, answered within one month (extendable by two)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RELEASED = "released", "Released"

    ref = models.CharField(max_length=16, unique=True)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    due_by = models.DateField()
    extended_to = models.DateField(null=True, blank=True)
    extension_reason = models.CharField(max_length=500, blank=True)
    verified_by = models.CharField(max_length=200, help_text="how the requester was identified")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)
    export_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at"]

    @property
    def deadline(self):  # type: ignore[no-untyped-def]
        return self.extended_to or self.due_by


class Erasure(models.Model):
    """A person or family whose data was erased at the end of its retention (crypto-shredded).

    The pseudonym and the categories, never the data; kept so that a later run, a subject access
    request or the portal knows the pseudonym points at nothing.
    """

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        FAMILY = "family", "Family"

    subject = models.CharField(max_length=32, unique=True, help_text="pseudonymous id")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    erased_at = models.DateTimeField()
    run_id = models.CharField(max_length=100)
    reason = models.CharField(max_length=300)
    categories = models.JSONField(default=list)
    flag_counts = models.JSONField(
        default=dict, help_text="flags removed per category: anonymous counts only"
    )

    class Meta:
        ordering = ["-erased_at"]
