"""What partners send, reduced at the hub to flags (dated indicator codes) and sealed details.

A partner record carries no clear identity: its identity went to the vault (`people.Identity`) and
its encodings to linkage. What remains is which person it is about, the indicators it raised, and
the detail behind them sealed under that person's data key — readable only through
`kinfold.access`, with consent or an approved override.
"""

from __future__ import annotations

from django.db import models


class Bundle(models.Model):
    """One partner's file for one quarter, as received; ingesting it again changes nothing."""

    organisation = models.ForeignKey("agreements.Organisation", on_delete=models.PROTECT)
    quarter = models.CharField(max_length=6)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(default=0)
    rows_quarantined = models.PositiveIntegerField(default=0)
    manifest = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quarter", "organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "quarter", "sha256"], name="bundle_once_per_content"
            )
        ]


class PartnerRecord(models.Model):
    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="records")
    organisation = models.ForeignKey("agreements.Organisation", on_delete=models.PROTECT)
    source_ref = models.CharField(max_length=120)
    quarter = models.CharField(max_length=6)
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="records", null=True, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bundle", "source_ref"], name="record_once_per_bundle")
        ]
        indexes = [models.Index(fields=["person", "quarter"])]


class Indicator(models.Model):
    """A flag: that a person met an indicator on a date, from a source. Never the fact behind it."""

    record = models.ForeignKey(PartnerRecord, on_delete=models.CASCADE, related_name="indicators")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="indicators")
    organisation = models.ForeignKey("agreements.Organisation", on_delete=models.PROTECT)
    category = models.ForeignKey("agreements.DataCategory", on_delete=models.PROTECT)
    code = models.CharField(max_length=60)
    date = models.DateField()
    value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["date", "code"]
        indexes = [
            models.Index(fields=["person", "code", "date"]),
            models.Index(fields=["code", "date"]),
        ]


class SealedDetail(models.Model):
    """The detail behind a record's flags in one category, sealed under the person's data key."""

    record = models.ForeignKey(PartnerRecord, on_delete=models.CASCADE, related_name="details")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="details")
    category = models.ForeignKey("agreements.DataCategory", on_delete=models.PROTECT)
    sealed = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "category"], name="detail_once_per_category")
        ]
        indexes = [models.Index(fields=["person", "category"])]


class LinkageState(models.Model):
    """The hub's memory of persons after a quarter: a `kinfold.linkage.PersonIndex`, serialised.

    Written in the same transaction as the quarter's records, so the database and the index can
    never disagree: a quarter ingested again finds its state here and changes nothing, and the next
    quarter links against it. Encodings only — nothing in it is readable without the partners'
    linkage secret. The index of all but the two latest quarters is emptied to save space (its
    sha256 and counts stay).
    """

    quarter = models.CharField(max_length=6, unique=True)
    index = models.BinaryField(help_text="PersonIndex.to_bytes(); empty once superseded")
    index_sha256 = models.CharField(max_length=64)
    persons = models.PositiveIntegerField(help_text="persons the index remembers")
    records = models.PositiveIntegerField(help_text="partner records (and related) linked")
    key_id = models.CharField(max_length=32, help_text="public id of the linkage secret used")
    run_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quarter"]


class PersonMerge(models.Model):
    """New evidence showed two persons are one: `retired` now goes by `survivor`.

    The retired person's records, flags, sealed details, identities, household memberships and
    parent links were moved to the survivor (re-sealed under the survivor's key) by the ingest
    that found it; the retired Person row stays so that anything else that named it (a past
    family, an audit entry) can follow the merge.
    """

    retired = models.OneToOneField(
        "people.Person", on_delete=models.CASCADE, related_name="merged_into"
    )
    survivor = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    quarter = models.CharField(max_length=6)
    run_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
