"""Identification runs and their results, the family's journey, plans, progress and claims.

Identification results hold flags only: which problems a family met, and for each the indicator
code, source organisation, date and whose flag it was (by pseudonymous person) — never the partner
detail behind it. Claims carry a frozen evidence pack: JSON with its SHA-256, which cannot change
once a team manager has signed it off (enforced here, in `Claim.save`, and by database triggers).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models
from django.utils import timezone

from kinfold.errors import KinfoldError


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Finished"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Replaced by a later run"


class IdentificationRun(models.Model):
    """One run of identification for one quarter under one framework: a job with progress."""

    run_id = models.CharField(max_length=40, unique=True)
    quarter = models.CharField(max_length=6)
    framework_id = models.CharField(max_length=40)
    framework_version = models.PositiveIntegerField(default=1)
    framework_sha256 = models.CharField(max_length=64)
    framework_path = models.CharField(max_length=500)
    framework_text = models.TextField(help_text="the framework file as it was for this run")
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent done")
    stage = models.CharField(max_length=120, blank=True)
    started_by = models.ForeignKey(
        "staff.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["quarter", "framework_id", "status"])]

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED, RunStatus.SUPERSEDED)


class EligibleFamily(models.Model):
    """A family that met the framework at the run's quarter, and the problems it met."""

    run = models.ForeignKey(IdentificationRun, on_delete=models.CASCADE, related_name="eligible")
    family = models.ForeignKey("people.Family", on_delete=models.CASCADE, related_name="+")
    quarter = models.CharField(max_length=6)
    problems = models.JSONField(help_text="problem ids met, in framework order")
    first_identified = models.BooleanField(
        default=False, help_text="this is the quarter the family was first identified"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "family"], name="eligible_once_per_run")
        ]
        ordering = ["family__fid"]


class ProblemEvidence(models.Model):
    """One flag behind one problem: code, source organisation, date and whose. No detail."""

    eligible = models.ForeignKey(EligibleFamily, on_delete=models.CASCADE, related_name="evidence")
    problem = models.CharField(max_length=40)
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=60)
    organisation = models.ForeignKey("agreements.Organisation", on_delete=models.PROTECT)
    category = models.ForeignKey("agreements.DataCategory", on_delete=models.PROTECT)
    date = models.DateField()
    quarter = models.CharField(max_length=6)

    class Meta:
        ordering = ["problem", "date", "code"]


class FamilyQuarter(models.Model):
    """What one quarter showed about an identified family: problems present anywhere in the
    family, the values outcome measures read, and the flags behind them (`outcomes.QuarterStatus`)."""

    family = models.ForeignKey("people.Family", on_delete=models.CASCADE, related_name="+")
    framework_id = models.CharField(max_length=40)
    quarter = models.CharField(max_length=6)
    status = models.JSONField()
    run = models.ForeignKey(
        IdentificationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["family", "framework_id", "quarter"], name="family_quarter_once"
            )
        ]
        ordering = ["quarter"]


class State(models.TextChoices):
    IDENTIFIED = "identified", "Identified"
    ALLOCATED = "allocated", "Allocated to a key worker"
    CONTACTED = "contacted", "Contacted"
    ENGAGED = "engaged", "Engaged (consent recorded)"
    DECLINED = "declined", "Declined"
    PLAN_AGREED = "plan_agreed", "Plan agreed"
    IN_PROGRESS = "in_progress", "Progress reviewed"
    ACHIEVED = "achieved", "Outcomes achieved"
    SUSTAINED = "sustained", "Outcomes sustained"
    CLAIMED = "claimed", "Claimed"
    CLOSED = "closed", "Closed"
    STEPPED_UP = "stepped_up", "Stepped up to social care"
    MOVED_AWAY = "moved_away", "Moved away"
    NOT_SUITABLE = "not_suitable", "Not suitable"


class Journey(models.Model):
    """A family's way through the programme under one framework, from identification on."""

    family = models.ForeignKey("people.Family", on_delete=models.CASCADE, related_name="journeys")
    framework_id = models.CharField(max_length=40)
    identified_quarter = models.CharField(max_length=6)
    problems = models.JSONField(help_text="problem ids the family was identified with")
    problem_members = models.JSONField(
        default=dict, help_text="problem id → pseudonymous ids of the members who had it"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.IDENTIFIED)
    state_since = models.DateTimeField(default=timezone.now)
    # The computed outcome (kinfold.programme.outcomes.assess), refreshed by each run.
    assessed_quarter = models.CharField(max_length=6, blank=True)
    achieved_quarter = models.CharField(max_length=6, blank=True)
    sustained_quarter = models.CharField(max_length=6, blank=True)
    outcome_route = models.CharField(max_length=40, blank=True)
    under_way_quarter = models.CharField(max_length=6, blank=True)
    last_seen_quarter = models.CharField(max_length=6, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["family", "framework_id"], name="one_journey_per_family_framework"
            )
        ]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["identified_quarter"])]
        ordering = ["identified_quarter", "family__fid"]


class JourneyStep(models.Model):
    """One transition of a journey: from, to, by whom (a named role), when, why."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    by = models.ForeignKey(
        "staff.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(max_length=150, help_text="who, as the audit log names them")
    role = models.CharField(max_length=24)
    at = models.DateTimeField(default=timezone.now)
    quarter = models.CharField(max_length=6, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]


class PlanItem(models.Model):
    """One problem in the family's plan, with its outcome measure as the framework states it."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="plan")
    problem = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    measure = models.CharField(max_length=500)
    agreed_by = models.ForeignKey("staff.User", on_delete=models.PROTECT, related_name="+")
    agreed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "problem"], name="plan_item_once")
        ]
        ordering = ["id"]


class ProgressReview(models.Model):
    """A key worker's quarterly review: the progress shown is computed, never typed in."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="reviews")
    quarter = models.CharField(max_length=6)
    reviewed_by = models.ForeignKey("staff.User", on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)
    summary = models.JSONField(help_text="the computed progress at the review")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "quarter"], name="review_once_per_quarter")
        ]
        ordering = ["quarter"]


class ClaimKind(models.TextChoices):
    ATTACHMENT = "attachment", "Attachment fee"
    RESULTS = "results", "Results payment"


class ClaimStatus(models.TextChoices):
    PREPARED = "prepared", "Prepared, awaiting sign-off"
    INVALID = "invalid", "Invalid"
    SIGNED_OFF = "signed_off", "Signed off"
    SUBMITTED = "submitted", "Submitted to the ministry"


class ClaimFrozen(KinfoldError):
    """A signed-off claim's evidence cannot change."""


def evidence_digest(evidence: dict[str, Any]) -> str:
    """SHA-256 of the evidence pack's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(evidence, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


#: Fields of a claim that are frozen once it is signed off.
FROZEN_FIELDS = ("kind", "family_id", "journey_id", "quarter", "amount", "route", "evidence")


class Claim(models.Model):
    """A payment-by-results claim for one family in one quarter, with its evidence pack."""

    claim_id = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=12, choices=ClaimKind.choices)
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="claims")
    family = models.ForeignKey("people.Family", on_delete=models.PROTECT, related_name="+")
    framework_id = models.CharField(max_length=40)
    quarter = models.CharField(max_length=6, help_text="the claim period")
    amount = models.PositiveIntegerField(help_text="pounds")
    route = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.PREPARED
    )
    invalid_reasons = models.JSONField(default=list)
    evidence = models.JSONField()
    evidence_sha256 = models.CharField(max_length=64)
    prepared_by = models.ForeignKey("staff.User", on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(default=timezone.now)
    signed_off_by = models.ForeignKey(
        "staff.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "kind"],
                condition=~models.Q(status="invalid"),
                name="one_valid_claim_of_each_kind",
            )
        ]
        ordering = ["quarter", "kind", "claim_id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = Claim.objects.filter(pk=self.pk).values(*FROZEN_FIELDS, "status").first()
            if stored and stored["status"] in (ClaimStatus.SIGNED_OFF, ClaimStatus.SUBMITTED):
                for name in FROZEN_FIELDS:
                    if getattr(self, name) != stored[name]:
                        raise ClaimFrozen(
                            f"claim {self.claim_id} was signed off: its {name} cannot change"
                        )
        super().save(*args, **kwargs)

    @property
    def frozen(self) -> bool:
        return self.status in (ClaimStatus.SIGNED_OFF, ClaimStatus.SUBMITTED)

    def verify(self) -> bool:
        """Whether the stored evidence still has the digest it was signed off with."""
        return evidence_digest(self.evidence) == self.evidence_sha256


class AuditSample(models.Model):
    """A random internal-audit sample of a quarter's signed-off claims (seeded and recorded)."""

    quarter = models.CharField(max_length=6)
    seed = models.CharField(max_length=64)
    rate = models.FloatField(default=0.1)
    drawn_by = models.ForeignKey("staff.User", on_delete=models.PROTECT, related_name="+")
    drawn_at = models.DateTimeField(default=timezone.now)
    population = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["quarter"], name="one_sample_per_quarter")]
        ordering = ["-quarter"]


class SpotCheck(models.Model):
    class Result(models.TextChoices):
        PENDING = "pending", "Not checked yet"
        PASSED = "passed", "Evidence supports the claim"
        FAILED = "failed", "Evidence does not support the claim"

    sample = models.ForeignKey(AuditSample, on_delete=models.CASCADE, related_name="checks")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="spot_checks")
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.PENDING)
    note = models.CharField(max_length=500, blank=True)
    checked_by = models.ForeignKey(
        "staff.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sample", "claim"], name="spot_check_once")]
        ordering = ["claim__claim_id"]
