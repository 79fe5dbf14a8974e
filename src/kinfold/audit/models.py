"""The audit log's tables. All four are append-only: rows are inserted, never changed or deleted.

- `AuditEntry`: one row per event, `seq` gap-free from 0 (= the entry's Merkle leaf index),
  its leaf hash and a hash chain over all leaf hashes so far.
- `AuditSubject`: (entry, pseudonymous subject id), for "everything about this family".
- `TreeNode`: the hash of every complete interior node of the RFC 9162 tree, so proofs take a
  handful of look-ups at any size.
- `Checkpoint`: signed (tree size, root hash, time) statements, published.

The ORM refuses updates and deletes here; the database refuses them too (triggers added by
migration 0002). Only `kinfold.audit.services` writes these tables.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn, Self

from django.db import models

from kinfold.audit import canonical
from kinfold.audit.actors import Actor, ActorKind
from kinfold.audit.events import Event


class AppendOnlyError(RuntimeError):
    """Something tried to change or delete a row of the append-only audit log."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Querysets that can add and read rows, never change or remove them."""

    def _refuse(self, what: str) -> NoReturn:
        raise AppendOnlyError(f"the audit log is append-only: {what} on {self.model.__name__}")

    def update(self, **kwargs: Any) -> int:
        self._refuse("update")

    def delete(self) -> tuple[int, dict[str, int]]:
        self._refuse("delete")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        self._refuse("bulk_update")

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("update_or_create")

    def _raw_delete(self, using: Any) -> NoReturn:
        self._refuse("delete")


class AppendOnlyModel(models.Model):
    """A row that can be inserted once and never saved again or deleted."""

    objects: ClassVar[models.Manager[Self]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(
                f"the audit log is append-only: save of an existing {self._meta.label}"
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"the audit log is append-only: delete of {self._meta.label}")


class AuditEntry(AppendOnlyModel):
    """One thing that happened: who, what, to which subjects, why, and on what basis."""

    seq = models.BigIntegerField("sequence number", primary_key=True)
    recorded_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=8)
    actor_id = models.CharField(max_length=150)
    actor_role = models.CharField(max_length=64, blank=True)
    actor_organisation = models.CharField(max_length=100, blank=True)
    actor_run_id = models.CharField(max_length=100, blank=True)
    event = models.CharField(max_length=64)
    resource = models.CharField(max_length=200, blank=True)
    subjects = models.TextField("pseudonymous subject ids, sorted, space-separated", blank=True)
    purpose = models.CharField(max_length=100, blank=True)
    decision = models.CharField(max_length=5, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    basis = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict)
    leaf_hash = models.BinaryField(max_length=32)
    chain_hash = models.BinaryField("SHA-256(previous chain hash ‖ leaf hash)", max_length=32)

    class Meta:
        db_table = "audit_entry"
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["actor_id", "-seq"], name="audit_entry_actor"),
            models.Index(fields=["event", "-seq"], name="audit_entry_event"),
            models.Index(fields=["resource", "-seq"], name="audit_entry_resource"),
            models.Index(fields=["recorded_at"], name="audit_entry_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event} by {self.actor}"

    @property
    def index(self) -> int:
        """The entry's leaf index in the Merkle tree (the same number as `seq`)."""
        return int(self.seq)

    @property
    def actor(self) -> Actor:
        kind: ActorKind = self.actor_kind  # type: ignore[assignment]
        return Actor(
            kind, self.actor_id, self.actor_role, self.actor_organisation, self.actor_run_id
        )

    @property
    def event_type(self) -> Event | None:
        """The event as a vocabulary member (None only if the vocabulary lost a value)."""
        try:
            return Event(self.event)
        except ValueError:
            return None

    @property
    def subject_ids(self) -> tuple[str, ...]:
        return canonical.subjects_from_storage(self.subjects)

    def fields(self) -> canonical.EntryFields:
        """What the leaf hash commits to, from this row."""
        return canonical.EntryFields(
            seq=int(self.seq),
            time=canonical.timestamp(self.recorded_at),
            actor_kind=self.actor_kind,
            actor_id=self.actor_id,
            actor_role=self.actor_role,
            actor_organisation=self.actor_organisation,
            actor_run_id=self.actor_run_id,
            event=self.event,
            resource=self.resource,
            subjects=self.subject_ids,
            purpose=self.purpose,
            decision=self.decision,
            reason=self.reason,
            basis=self.basis,
            details=self.details,
        )

    def canonical_bytes(self) -> bytes:
        return canonical.entry_bytes(self.fields())

    def as_public_object(self) -> dict[str, Any]:
        """The entry as the JSON object its leaf commits to (shown with inclusion proofs)."""
        return canonical.as_object(self.fields())


class AuditSubject(AppendOnlyModel):
    """Index row: entry `entry` is about pseudonymous person or family `subject`."""

    pk = models.CompositePrimaryKey("entry", "subject")
    entry = models.ForeignKey(
        AuditEntry, on_delete=models.PROTECT, related_name="subject_rows", db_index=False
    )
    subject = models.CharField(max_length=64)

    class Meta:
        db_table = "audit_subject"
        indexes = [models.Index(fields=["subject", "-entry"], name="audit_subject_lookup")]

    def __str__(self) -> str:
        return f"{self.subject} in #{self.entry_id}"


NODE_KEY_LEVELS = 64


class TreeNode(AppendOnlyModel):
    """The hash of a complete interior node (level ≥ 1) of the RFC 9162 tree.

    `key` = (index of the last leaf under the node) * 64 + level, so keys grow in the order
    nodes are completed and verification can stream them beside the entries.
    """

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    class Meta:
        db_table = "audit_tree_node"

    def __str__(self) -> str:
        level, index = self.position
        return f"node level {level} index {index}"

    @staticmethod
    def key_for(level: int, index: int) -> int:
        return (((index + 1) << level) - 1) * NODE_KEY_LEVELS + level

    @property
    def position(self) -> tuple[int, int]:
        """(level, index) of the node."""
        last_leaf, level = divmod(int(self.key), NODE_KEY_LEVELS)
        return level, ((last_leaf + 1) >> level) - 1


class Checkpoint(AppendOnlyModel):
    """A signed statement of the log's size and root at a time; numbered from 1, gap-free."""

    number = models.BigIntegerField(primary_key=True)
    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    signed_at = models.DateTimeField()
    origin = models.CharField(max_length=100)
    public_key = models.BinaryField(max_length=32)
    signature = models.BinaryField(max_length=64)

    class Meta:
        db_table = "audit_checkpoint"
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"checkpoint {self.number}: {self.tree_size} entries"
