"""Consent records: per person, purpose, partner and category, with an append-only history.

Shaped after ISO/IEC TS 27560 (consent record header, processing, parties, events). The current
state is kept on the record for fast decisions; the events are the history, never edited.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ConsentState(models.TextChoices):
    GIVEN = "given", "Given"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class ConsentMethod(models.TextChoices):
    WRITTEN = "written", "Written"
    VERBAL = "verbal", "Verbal"
    DIGITAL = "digital", "Digital"


class ConsentRecord(models.Model):
    record_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="consents")
    family = models.ForeignKey(
        "people.Family", on_delete=models.CASCADE, related_name="consents", null=True, blank=True
    )
    purpose = models.ForeignKey("agreements.Purpose", on_delete=models.PROTECT)
    organisation = models.ForeignKey(
        "agreements.Organisation", on_delete=models.PROTECT, help_text="whose data it covers"
    )
    category = models.ForeignKey("agreements.DataCategory", on_delete=models.PROTECT)
    given_by = models.CharField(
        max_length=12,
        choices=[("self", "The person"), ("parent", "A parent or carer")],
        default="self",
    )
    given_by_person = models.ForeignKey(
        "people.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    method = models.CharField(max_length=8, choices=ConsentMethod.choices)
    notice_version = models.CharField(max_length=40, help_text="privacy notice version shown")
    evidence_ref = models.CharField(max_length=120, blank=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ConsentState.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["person", "purpose", "organisation", "category", "state"])]


class ConsentEvent(models.Model):
    """One change of a consent record's state. Append-only."""

    record = models.ForeignKey(ConsentRecord, on_delete=models.CASCADE, related_name="events")
    state = models.CharField(max_length=10, choices=ConsentState.choices)
    at = models.DateTimeField()
    actor = models.CharField(max_length=120, help_text="who made the change (username or family)")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
