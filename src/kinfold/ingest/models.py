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
