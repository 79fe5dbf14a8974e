"""Consent records, lawful overrides and referrals: the grounds on which details are shared.

Consent records are shaped after ISO/IEC TS 27560 (record header, processing, parties, events):
one record per person, purpose, providing partner, recipient and data category; records given in
one conversation share a receipt. The current state is kept on the record for fast decisions; the
events are the history, never edited.

Lawful overrides share without consent (safeguarding, prevention of serious harm): proposed by one
person, decided by a different one with a manager's or DPO's role (the database refuses the same
person), with a fixed scope and expiry that the database refuses to change: a change is a new
proposal. Referrals send a partner only the items the agreement allows, each item carrying the
consent or override it relied on. See docs/agreements.md and docs/adr/.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from kinfold.audit import privacy


def audit_safe_uuid() -> uuid.UUID:
    """A random id that the audit log's personal-data guard cannot mistake for a phone, NHS or
    National Insurance number (a random UUID's digits sometimes look like one, and these ids are
    written into audit entries: `consent:<id>`, `override:<id>`, `referral:<id>`)."""
    while True:
        candidate = uuid.uuid4()
        if not privacy.looks_personal(f":{candidate}:"):
            return candidate


class ConsentState(models.TextChoices):
    GIVEN = "given", "Given"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class ConsentMethod(models.TextChoices):
    WRITTEN = "written", "Written"
    VERBAL = "verbal", "Verbal"
    DIGITAL = "digital", "Digital"


class GivenBy(models.TextChoices):
    SELF = "self", "The person"
    PARENT = "parent", "A parent or carer"


class ChildView(models.TextChoices):
    """A child's own view, recorded whenever a parent consents for a child aged 12 or over."""

    NOT_RECORDED = "", "Not recorded"
    AGREES = "agrees", "Agrees"
    DOES_NOT_AGREE = "does-not-agree", "Does not agree"
    MIXED = "mixed", "Has mixed feelings"
    DECLINED = "declined", "Did not want to say"


class ConsentRecord(models.Model):
    record_id = models.UUIDField(default=audit_safe_uuid, unique=True, editable=False)
    receipt_id = models.UUIDField(
        default=audit_safe_uuid, db_index=True, help_text="records given together share one receipt"
    )
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="consents")
    family = models.ForeignKey(
        "people.Family", on_delete=models.CASCADE, related_name="consents", null=True, blank=True
    )
    purpose = models.ForeignKey("agreements.Purpose", on_delete=models.PROTECT)
    organisation = models.ForeignKey(
        "agreements.Organisation", on_delete=models.PROTECT, help_text="whose data it covers"
    )
    recipient = models.ForeignKey(
        "agreements.Organisation",
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        help_text="who may see it: the council's key worker, or a partner receiving a referral",
    )
    category = models.ForeignKey("agreements.DataCategory", on_delete=models.PROTECT)
    given_by = models.CharField(max_length=12, choices=GivenBy.choices, default=GivenBy.SELF)
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
    # children: the child's age when asked, their own view, and a competence judgement
    subject_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="age in years when recorded (from the year of birth)"
    )
    child_view = models.CharField(
        max_length=16, choices=ChildView.choices, blank=True, default=ChildView.NOT_RECORDED
    )
    child_view_note = models.CharField(max_length=300, blank=True)
    competent = models.BooleanField(
        null=True,
        blank=True,
        help_text="a child under 16 judged competent to decide for themselves (Gillick)",
    )
    competence_assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

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


# ---------------------------------------------------------------------------- lawful overrides


class OverrideState(models.TextChoices):
    PROPOSED = "proposed", "Waiting for a second person"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REVOKED = "revoked", "Ended early"
    EXPIRED = "expired", "Expired"


class Override(models.Model):
    """Sharing without consent for a recorded lawful reason, decided by a second person.

    The scope (family or one person, purpose, categories, partners) and the expiry are fixed when
    proposed: the database refuses to change them (migration 0004), so an override can never
    widen itself. A change is a new proposal, which may name the one it replaces.
    """

    override_id = models.UUIDField(default=audit_safe_uuid, unique=True, editable=False)
    family = models.ForeignKey("people.Family", on_delete=models.CASCADE, related_name="overrides")
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="overrides",
        help_text="one person, or empty for every member of the family",
    )
    purpose = models.ForeignKey("agreements.Purpose", on_delete=models.PROTECT)
    categories = models.JSONField(help_text="data category slugs it covers")
    partners = models.JSONField(
        help_text="organisation slugs: whose information it releases, or whom a referral may reach"
    )
    justification = models.TextField()
    expires_at = models.DateTimeField()
    tell_family = models.BooleanField(default=True)
    not_told_reason = models.TextField(
        blank=True, help_text="why telling the family would put someone at risk"
    )
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=OverrideState.choices, default=OverrideState.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["family", "state", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("proposed_by")),
                name="override_second_person",
            ),
            models.CheckConstraint(
                condition=~models.Q(state__in=["approved", "rejected"])
                | models.Q(decided_by__isnull=False),
                name="override_decided_by_someone",
            ),
            models.CheckConstraint(
                condition=models.Q(tell_family=True) | ~models.Q(not_told_reason=""),
                name="override_told_or_reason",
            ),
        ]


# ---------------------------------------------------------------------------- referrals


class ReferralState(models.TextChoices):
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    DONE = "done", "Done"
    REVOKED = "revoked", "Withdrawn by the key worker"


class Referral(models.Model):
    """A key worker's referral of family members to a partner's service.

    The message and the partner's answer are sealed under the family's data key (they are free
    text about the family); the items say which person and category it carries, and on what basis.
    """

    referral_id = models.UUIDField(default=audit_safe_uuid, unique=True, editable=False)
    family = models.ForeignKey("people.Family", on_delete=models.CASCADE, related_name="referrals")
    purpose = models.ForeignKey("agreements.Purpose", on_delete=models.PROTECT)
    recipient = models.ForeignKey(
        "agreements.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=ReferralState.choices, default=ReferralState.SENT
    )
    message_sealed = models.BinaryField()
    answer_sealed = models.BinaryField(blank=True, default=b"")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField()
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["recipient", "state"])]


class ReferralItem(models.Model):
    """One person's information in one category, sent with a referral."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="items")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("agreements.DataCategory", on_delete=models.PROTECT)
    basis = models.CharField(max_length=80, help_text="consent:<id> or override:<id> when sent")
    agreement = models.CharField(max_length=100, help_text="slug@vN that allowed it when sent")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "person", "category"], name="referral_item_once"
            )
        ]


class ReferralEvent(models.Model):
    """One change of a referral's state. Append-only."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    state = models.CharField(max_length=10, choices=ReferralState.choices)
    at = models.DateTimeField()
    actor = models.CharField(max_length=120)

    class Meta:
        ordering = ["at", "id"]
