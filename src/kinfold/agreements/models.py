"""Organisations, the agreements vocabulary, and data-sharing agreements as loaded from files.

Agreements are versioned documents: a new version is a new row, never an edit of an old one, so a
decision can always name the exact version it used.
"""

from __future__ import annotations

from django.db import models


class Organisation(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40)
    partner_id = models.CharField(
        max_length=40,
        blank=True,
        help_text="the id this organisation's extracts use, if it sends any",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DataCategory(models.Model):
    SPECIAL_CHOICES = [
        ("", "not special"),
        ("article-9", "Article 9"),
        ("article-10", "Article 10"),
    ]

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    fides_key = models.CharField(max_length=120, blank=True)
    special = models.CharField(max_length=12, choices=SPECIAL_CHOICES, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "data categories"

    def __str__(self) -> str:
        return self.name


class Purpose(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160)
    fides_key = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LawfulBasis(models.Model):
    """An Article 6 basis, or an Article 9 / Article 10 condition (kind says which)."""

    KIND_CHOICES = [("basis", "Article 6 basis"), ("condition", "Article 9/10 condition")]

    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=10, choices=KIND_CHOICES)
    name = models.CharField(max_length=160)
    article = models.CharField(max_length=160)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "lawful bases"

    def __str__(self) -> str:
        return f"{self.name} ({self.article})"


class Agreement(models.Model):
    """One version of a data-sharing agreement, exactly as its file said."""

    STATUS_CHOICES = [("draft", "Draft"), ("approved", "Approved"), ("retired", "Retired")]

    slug = models.SlugField(max_length=80)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=STATUS_CHOICES)
    effective = models.DateField()
    review_date = models.DateField()
    controller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    parties = models.ManyToManyField(Organisation, related_name="agreements")
    summary = models.TextField()
    dpia_summary = models.TextField(blank=True)
    document = models.JSONField(help_text="the whole file, parsed")
    source_file = models.CharField(max_length=255)
    source_sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(
        default=False, help_text="the newest loaded version of this agreement"
    )
    policy_text = models.TextField(
        blank=True, help_text="the Cedar policies generated from this version: what is enforced"
    )
    policy_sha256 = models.CharField(max_length=64, blank=True)
    policy_schema = models.TextField(
        blank=True, help_text="the Cedar schema it was checked against"
    )
    policies = models.JSONField(
        default=list, help_text="each share's policy id, purpose, level, sentence and text"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="agreement_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    @property
    def label(self) -> str:
        """How decisions and audit entries name this version: `slug@vN`."""
        return f"{self.slug}@v{self.version}"

    @property
    def is_enforced(self) -> bool:
        """Only an approved version is enforced; a draft never is, a retired one no longer."""
        return self.status == "approved"


class AgreementEvent(models.Model):
    """One step in an agreement version's life, for its public version history. Append-only.

    `actor` is a role or a system job, never a person's name: this history is published.
    """

    KIND_CHOICES = [
        ("loaded", "Loaded"),
        ("compiled", "Policy compiled"),
        ("approved", "Approved"),
        ("retired", "Retired"),
    ]

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=KIND_CHOICES)
    at = models.DateTimeField()
    actor = models.CharField(max_length=120)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Share(models.Model):
    """One permission in an agreement: who may receive which category, at which level, for what."""

    LEVEL_CHOICES = [("flags", "Flags (indicator codes only)"), ("details", "Details")]

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="shares")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT)
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    roles = models.JSONField(help_text="recipient roles who may see it")
    category = models.ForeignKey(DataCategory, on_delete=models.PROTECT)
    level = models.CharField(max_length=8, choices=LEVEL_CHOICES)
    lawful_basis = models.ForeignKey(LawfulBasis, on_delete=models.PROTECT, related_name="+")
    conditions = models.ManyToManyField(LawfulBasis, related_name="+", blank=True)
    consent_required = models.BooleanField()
    override_required = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["agreement", "purpose", "category", "level"])]

    def __str__(self) -> str:
        return f"{self.provider.slug} → {self.recipient.slug}: {self.category.slug} ({self.level})"


class Retention(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="retention")
    category = models.ForeignKey(DataCategory, on_delete=models.PROTECT)
    months = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "category"], name="retention_unique"),
        ]
