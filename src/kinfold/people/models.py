"""Persons, households and families by pseudonymous id; the identity vault, encrypted.

The separation principle: nothing in this module's plain columns identifies anyone. Persons,
households and families are opaque ids. Clear identities (names, dates of birth, addresses, contact
details) live only in `Identity.sealed`, encrypted under the person's own data key, which is stored
wrapped by the master key. Exact look-ups use keyed blind indexes, never a plaintext index.
"""

from __future__ import annotations

import uuid

from django.db import models


class DataKey(models.Model):
    """A per-person or per-family AES-256 key, stored only wrapped by the master key.

    Destroying it (`wrapped = b""`, `destroyed_at` set) crypto-shreds everything sealed under it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    destroyed_reason = models.CharField(max_length=200, blank=True)


class Person(models.Model):
    pid = models.CharField("pseudonymous id", max_length=32, unique=True)
    data_key = models.OneToOneField(DataKey, on_delete=models.PROTECT, related_name="person")
    created_at = models.DateTimeField(auto_now_add=True)
    first_seen = models.CharField(max_length=6, help_text="quarter first seen, like 2015Q2")
    year_of_birth = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="coarse, for ages in the programme; the full date is in the vault",
    )
    month_of_birth = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="1-12, with the year for ages at a quarter's end; the day is in the vault only",
    )

    class Meta:
        ordering = ["pid"]

    def __str__(self) -> str:
        return self.pid


class Household(models.Model):
    hid = models.CharField("pseudonymous id", max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.hid


class HouseholdAddress(models.Model):
    """A way of writing a household's address, as the keyed household token linkage made of it
    (``kinfold.linkage.households``: of the UPRN, or of the normalised address and postcode,
    under the partners' secret: no address can be read back from it), with the household it was
    last found in. Ingest gives a household found this quarter the id its tokens had before, so
    an address keeps its household id whichever partners write it which way (docs/ingest.md)."""

    token = models.BigIntegerField(unique=True, help_text="the keyed token, as a signed 64-bit int")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="addresses")
    quarter = models.CharField(max_length=6, help_text="the quarter it was last written in")


class HouseholdMember(models.Model):
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="households")
    quarter = models.CharField(max_length=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "quarter"], name="one_household_per_quarter")
        ]
        indexes = [models.Index(fields=["household", "quarter"])]


class ParentLink(models.Model):
    """Partner data shows that `parent` is a parent or carer of `child` (e.g. a school's contact).

    This is how a parent living elsewhere joins a child's family. Written by ingest from the
    `[[related]]` identities in an extract schema, linked like any other identity.
    """

    child = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="parent_links")
    parent = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="child_links")
    quarter = models.CharField(max_length=6)
    organisation = models.ForeignKey("agreements.Organisation", on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["child", "parent", "quarter", "organisation"], name="parent_link_once"
            )
        ]


class Family(models.Model):
    fid = models.CharField("pseudonymous id", max_length=32, unique=True)
    data_key = models.OneToOneField(DataKey, on_delete=models.PROTECT, related_name="family")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["fid"]
        verbose_name_plural = "families"

    def __str__(self) -> str:
        return self.fid


class FamilyMember(models.Model):
    class Role(models.TextChoices):
        ADULT = "adult", "Adult in the household"
        CHILD = "child", "Dependent child"
        PARENT_ELSEWHERE = "parent_elsewhere", "Parent living elsewhere"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="families")
    role = models.CharField(max_length=20, choices=Role.choices)
    quarter = models.CharField(max_length=6, help_text="the quarter this membership was seen")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["family", "person", "quarter"], name="family_member_once_per_quarter"
            )
        ]
        indexes = [models.Index(fields=["person", "quarter"])]


class Identity(models.Model):
    """A clear identity as one organisation holds it, sealed under the person's data key.

    `sealed` decrypts (through `kinfold.people.vault`, called only by `kinfold.access`) to a JSON
    object of identity fields: given_name, surname, dob, sex, address, postcode, phone, email, and
    reference numbers. Associated data binds it to this person and source, so a sealed blob copied
    to another row does not open.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities")
    organisation = models.ForeignKey("agreements.Organisation", on_delete=models.PROTECT)
    fingerprint = models.CharField(
        max_length=64,
        help_text="keyed HMAC of the whole identity, so an unchanged one is kept once",
    )
    source_ref = models.CharField(max_length=120, help_text="the partner's record reference")
    first_quarter = models.CharField(max_length=6)
    last_quarter = models.CharField(max_length=6)
    sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organisation", "fingerprint"], name="identity_once_per_source"
            )
        ]
        verbose_name_plural = "identities"


class BlindIndex(models.Model):
    """HMAC of a normalised identity field, for exact look-ups (e.g. a subject access request)."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="blind_indexes")
    field = models.CharField(max_length=24)
    digest = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["field", "digest"])]
