"""Models of this part (see DESIGN.md)."""

from __future__ import annotations

from django.db import models


class PublicationBlock(models.Model):
    """A page or file the publishing guard held back, for the DPO to deal with.

    Holds what was blocked (a path or file name), the kinds of personal data it seemed to hold and
    a hash of the content — never the content, nor the values found.
    """

    what = models.CharField(max_length=300)
    content_sha256 = models.CharField(max_length=64)
    kinds = models.JSONField(default=list)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    times = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["what", "content_sha256"])]
