"""Family members' portal accounts and their one-time sign-in codes.

An account holds no clear contact detail: only a keyed digest of the email address or mobile
number (the one held in the vault for that person), so sign-in can find it and nothing else can.
Codes are stored as keyed hashes, used once, and expire after ten minutes.
"""

from __future__ import annotations

from django.db import models


class PortalAccount(models.Model):
    class ContactKind(models.TextChoices):
        EMAIL = "email", "Email address"
        MOBILE = "mobile", "Mobile number"

    person = models.OneToOneField(
        "people.Person", on_delete=models.PROTECT, related_name="portal_account"
    )
    contact_kind = models.CharField(max_length=6, choices=ContactKind.choices)
    contact_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, help_text="staff username")
    closed_at = models.DateTimeField(null=True, blank=True)
    last_signed_in_at = models.DateTimeField(null=True, blank=True)


class SignInCode(models.Model):
    account = models.ForeignKey(PortalAccount, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"])]


class SignInEvent(models.Model):
    """One sign-in step, for rate limits: by a keyed digest of the IP address or the account."""

    class Kind(models.TextChoices):
        START = "start", "Code asked for"
        CHECK = "check", "Code checked"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"])]
