"""Writing and reading the audit log. Every part records through `record` / `record_many`.

Rules for callers (CONVENTIONS.md):

- Record explicitly, from services, with an `Actor` that names a person, a family (by
  pseudonymous id) or a system job with its run id, and an `Event` from the one vocabulary.
- Pass pseudonymous ids only (``subjects=["F7K2M9QX4TBA"]``); never a name, address, date of
  birth, email, phone, NHS or NI number. A guard refuses the obvious ones, not names.
- An entry is written inside the caller's transaction: if that transaction rolls back, the entry
  goes with it, which is right, because the action did not happen.
- A **denial must survive** whatever the caller does next. Record it with ``durable=True``: the
  entry is then committed at once in a transaction of its own, and calling it inside another
  atomic block is an error (Django refuses a durable block nested in another), so the mistake is
  loud instead of a silently lost denial. The access layer therefore decides and records denials
  *before* entering any atomic block (or after leaving it), e.g.::

      decision = policy.evaluate(request)
      if not decision.allowed:
          audit.record(actor, Event.ACCESS_DENIED, decision="deny", ..., durable=True)
          raise NotPermitted(decision.reason)
      with transaction.atomic():
          ...  # the allowed work, and its `record(...)`

- Record late in a transaction: on PostgreSQL a writer holds the log's append lock from its first
  `record` until its transaction ends, so that sequence numbers stay gap-free and the chain never
  forks; long work after recording holds up every other writer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kinfold.audit import canonical, merkle, privacy
from kinfold.audit.actors import Actor
from kinfold.audit.errors import AuditError, LogDamagedError
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry, AuditSubject, TreeNode

__all__ = [
    "GENESIS",
    "EntryPage",
    "NewEntry",
    "chain_hash",
    "consistency_proof",
    "entries",
    "entries_about",
    "entry",
    "inclusion_path",
    "log_size",
    "record",
    "record_many",
    "tree_root",
]

GENESIS = bytes(32)
"""The chain hash before the first entry."""

DECISIONS = ("allow", "deny", "")
SUBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_DETAILS_BYTES = 2048
_TEXT_LIMITS = {"resource": 200, "purpose": 100, "reason": 500, "basis": 200}
# PostgreSQL advisory lock id for the log's append lock ("kinfold" in ASCII).
APPEND_LOCK_ID = 0x6B696E666F6C64


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """The hash chain: SHA-256(previous chain hash ‖ this entry's leaf hash)."""
    return hashlib.sha256(previous + leaf).digest()


@dataclass(frozen=True)
class NewEntry:
    """One entry to record, checked when made (so a bad call fails where it is written)."""

    actor: Actor
    event: Event
    resource: str = ""
    subjects: Sequence[str] = ()
    purpose: str = ""
    decision: str = ""
    reason: str = ""
    basis: str = ""
    details: Mapping[str, Any] | None = field(default=None)
    details_json: str = field(default="{}", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.actor, Actor):
            raise TypeError("an audit entry needs an Actor")
        object.__setattr__(self, "event", Event(self.event))
        if self.decision not in DECISIONS:
            raise ValueError(f"audit decision must be 'allow', 'deny' or '', not {self.decision!r}")
        for name, limit in _TEXT_LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"audit {name} must be text")
            if len(value) > limit:
                raise ValueError(f"audit {name} is longer than {limit} characters")
            privacy.check_text(name, value)
        object.__setattr__(self, "subjects", _clean_subjects(self.subjects))
        details = dict(self.details or {})
        privacy.check_details(details)
        details_json = canonical.canonical_json(details).decode() if details else "{}"
        if len(details_json.encode()) > MAX_DETAILS_BYTES:
            raise ValueError(f"audit details are larger than {MAX_DETAILS_BYTES} bytes")
        object.__setattr__(self, "details", details)
        object.__setattr__(self, "details_json", details_json)


def _clean_subjects(subjects: Iterable[str]) -> tuple[str, ...]:
    if isinstance(subjects, str):
        raise TypeError("audit subjects is a list of pseudonymous ids, not one string")
    cleaned = sorted(set(subjects))
    for subject in cleaned:
        if not isinstance(subject, str) or not SUBJECT_ID.fullmatch(subject):
            raise ValueError(f"audit subject {subject!r} is not a pseudonymous id")
        privacy.check_text("subject", subject)
    return tuple(cleaned)


def record(
    actor: Actor,
    event: Event,
    *,
    resource: str = "",
    subjects: Sequence[str] = (),
    purpose: str = "",
    decision: str = "",
    reason: str = "",
    basis: str = "",
    details: Mapping[str, Any] | None = None,
    durable: bool = False,
) -> AuditEntry:
    """Append one entry to the log and return it (its `seq` is its leaf index).

    The entry joins the caller's transaction unless `durable` is true, in which case it is
    committed on its own at once and it is an error to be inside another atomic block (use it
    for denials). Raises ValueError/TypeError (e.g. `PersonalDataError`) for a bad entry.
    """
    new = NewEntry(actor, event, resource, subjects, purpose, decision, reason, basis, details)
    return append_entries([new], durable=durable)[0][0]


def record_many(new_entries: Iterable[NewEntry], *, durable: bool = False) -> list[AuditEntry]:
    """Append several entries at once, in order, in one transaction (fast for batch jobs)."""
    batch = list(new_entries)
    if not batch:
        return []
    return append_entries(batch, durable=durable)[0]


def lock_log() -> None:
    """Serialise writers so that sequence numbers are gap-free and the chain cannot fork.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: kinfold opens transactions with
    BEGIN IMMEDIATE (settings), which already holds the database's single write lock. On any
    database the primary key on `seq` refuses a second entry at the same position.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_ID])


def _tail() -> tuple[int, bytes]:
    """(entries so far, chain hash of the last one)."""
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "chain_hash").first()
    if last is None:
        return 0, GENESIS
    return int(last[0]) + 1, bytes(last[1])


def append_entries(
    batch: list[NewEntry], *, durable: bool
) -> tuple[list[AuditEntry], merkle.Frontier]:
    """Append `batch` at the end of the log under the append lock; return the saved entries and
    the tree's new frontier. Only this part calls it (`record`, `record_many`, checkpoints)."""
    with transaction.atomic(durable=durable):
        lock_log()
        size, chain = _tail()
        frontier = load_frontier(size)
        now = timezone.now()
        time_text = canonical.timestamp(now)
        stored_time = connection.ops.adapt_datetimefield_value(now)
        saved: list[AuditEntry] = []
        entry_rows: list[tuple[Any, ...]] = []
        subject_rows: list[tuple[int, str]] = []
        node_rows: list[tuple[int, bytes]] = []
        for offset, new in enumerate(batch):
            seq = size + offset
            fields = _fields(seq, time_text, new)
            leaf = merkle.leaf_hash(canonical.entry_bytes(fields, new.details_json))
            chain = chain_hash(chain, leaf)
            entry_rows.append((*_stored(fields, new, stored_time), leaf, chain))
            subject_rows.extend((seq, subject) for subject in fields.subjects)
            node_rows.extend(
                (TreeNode.key_for(level, index), value)
                for level, index, value in frontier.append(leaf)
            )
            saved.append(_saved_entry(fields, now, leaf, chain))
        with connection.cursor() as cursor:
            cursor.executemany(_insert_entry_sql(), entry_rows)
            if subject_rows:
                cursor.executemany(_INSERT_SUBJECT, subject_rows)
            if node_rows:
                cursor.executemany(_INSERT_NODE, node_rows)
    return saved, frontier


# Rows are written with executemany rather than bulk_create: the ORM's per-field preparation
# was most of the cost of an append (docs/benchmarks.md).
_ENTRY_COLUMNS = (
    "seq, recorded_at, actor_kind, actor_id, actor_role, actor_organisation, actor_run_id, "
    "event, resource, subjects, purpose, decision, reason, basis, details, leaf_hash, chain_hash"
)
_INSERT_SUBJECT = "INSERT INTO audit_subject (entry_id, subject) VALUES (%s, %s)"
_INSERT_NODE = "INSERT INTO audit_tree_node (key, hash) VALUES (%s, %s)"


def _insert_entry_sql() -> str:
    details = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    values = ", ".join(["%s"] * 14 + [details, "%s", "%s"])
    return f"INSERT INTO audit_entry ({_ENTRY_COLUMNS}) VALUES ({values})"  # noqa: S608


def _fields(seq: int, time_text: str, new: NewEntry) -> canonical.EntryFields:
    return canonical.EntryFields(
        seq=seq,
        time=time_text,
        actor_kind=new.actor.kind,
        actor_id=new.actor.id,
        actor_role=new.actor.role,
        actor_organisation=new.actor.organisation,
        actor_run_id=new.actor.run_id,
        event=new.event.value,
        resource=new.resource,
        subjects=tuple(new.subjects),
        purpose=new.purpose,
        decision=new.decision,
        reason=new.reason,
        basis=new.basis,
        details=new.details or {},
    )


def _stored(fields: canonical.EntryFields, new: NewEntry, stored_time: Any) -> tuple[Any, ...]:
    """The entry's column values up to `details`, in `_ENTRY_COLUMNS` order."""
    return (
        fields.seq,
        stored_time,
        fields.actor_kind,
        fields.actor_id,
        fields.actor_role,
        fields.actor_organisation,
        fields.actor_run_id,
        fields.event,
        fields.resource,
        canonical.subjects_to_storage(fields.subjects),
        fields.purpose,
        fields.decision,
        fields.reason,
        fields.basis,
        new.details_json,
    )


def _saved_entry(
    fields: canonical.EntryFields, now: datetime, leaf: bytes, chain: bytes
) -> AuditEntry:
    entry = AuditEntry(
        seq=fields.seq,
        recorded_at=now,
        actor_kind=fields.actor_kind,
        actor_id=fields.actor_id,
        actor_role=fields.actor_role,
        actor_organisation=fields.actor_organisation,
        actor_run_id=fields.actor_run_id,
        event=fields.event,
        resource=fields.resource,
        subjects=canonical.subjects_to_storage(fields.subjects),
        purpose=fields.purpose,
        decision=fields.decision,
        reason=fields.reason,
        basis=fields.basis,
        details=dict(fields.details),
        leaf_hash=leaf,
        chain_hash=chain,
    )
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


# ---------------------------------------------------------------------------- the stored tree


def log_size() -> int:
    """How many entries the log holds (the next entry's `seq`)."""
    return _tail()[0]


def perfect_hashes(wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes of perfect subtrees (level 0: leaves, from entries; above: tree nodes)."""
    wanted = set(wanted)
    leaves = [index for level, index in wanted if level == 0]
    keys = {TreeNode.key_for(level, index): (level, index) for level, index in wanted if level}
    found: dict[tuple[int, int], bytes] = {}
    if leaves:
        for seq, value in AuditEntry.objects.filter(seq__in=leaves).values_list("seq", "leaf_hash"):
            found[(0, int(seq))] = bytes(value)
    if keys:
        for key, value in TreeNode.objects.filter(key__in=keys).values_list("key", "hash"):
            found[keys[int(key)]] = bytes(value)
    missing = wanted - found.keys()
    if missing:
        level, index = min(missing, key=lambda p: ((p[1] + 1) << p[0], p[0]))
        first = index << level
        raise LogDamagedError(
            f"the stored tree lacks the hash over entries {first} to {first + (1 << level) - 1}; "
            "run `kinfold audit verify`"
        )
    return found


def stored_tree(*proofs: tuple[str, int, int]) -> merkle.Prefetched:
    """A node source holding exactly the hashes the given proofs need, fetched in two queries.

    Each proof is ("inclusion", index, size), ("consistency", size1, size2) or ("root", size, 0).
    """
    collector = merkle.Collector()
    for kind, a, b in proofs:
        if kind == "inclusion":
            merkle.inclusion_proof(a, b, collector)
        elif kind == "consistency":
            merkle.consistency_proof(a, b, collector)
        elif a:
            merkle.root(a, collector)
    return merkle.Prefetched(perfect_hashes(collector.wanted))


def load_frontier(size: int) -> merkle.Frontier:
    """The frontier of the first `size` entries, from the stored tree."""
    positions = merkle.Frontier.positions(size)
    hashes = perfect_hashes(positions) if positions else {}
    return merkle.Frontier(size, [hashes[p] for p in positions])


def tree_root(size: int) -> bytes:
    """The RFC 9162 root hash of the first `size` entries."""
    _check_size(size)
    return merkle.root(size, stored_tree(("root", size, 0)))


def inclusion_path(seq: int, size: int) -> list[bytes]:
    """The inclusion proof of entry `seq` in the tree of the first `size` entries."""
    _check_size(size)
    if not 0 <= seq < size:
        raise AuditError(f"entry {seq} is not among the first {size} entries")
    return merkle.inclusion_proof(seq, size, stored_tree(("inclusion", seq, size)))


def consistency_proof(size1: int, size2: int) -> list[bytes]:
    """The consistency proof from the first `size1` entries to the first `size2`."""
    _check_size(size2)
    if not 0 < size1 <= size2:
        raise AuditError(
            f"no consistency proof from {size1} to {size2} entries (need 0 < from ≤ to)"
        )
    return merkle.consistency_proof(size1, size2, stored_tree(("consistency", size1, size2)))


def _check_size(size: int) -> None:
    if size < 0 or size > log_size():
        raise AuditError(f"the log has no tree of {size} entries (it holds {log_size()})")


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class EntryPage:
    """One page of entries, newest first. Pass `next_before` as `before` for the next page."""

    entries: list[AuditEntry]
    next_before: int | None


def _prefix(field_name: str, value: str) -> Q:
    """`value` itself or anything under it: "family:consent" matches "family:consent:given"."""
    return Q(**{field_name: value}) | Q(**{f"{field_name}__startswith": value + ":"})


def entries(
    *,
    actor: Actor | str | None = None,
    event: Event | str | None = None,
    subject: str | None = None,
    resource: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    decision: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> EntryPage:
    """Entries matching every filter given, newest first, `limit` at a time.

    `actor` is an Actor (kind and id must match) or an actor id; `event` and `resource` match
    themselves or anything under them (``"family:consent"`` → ``family:consent:*``); `subject`
    is a pseudonymous id; `since` is inclusive and `until` exclusive; `before` is a `seq` cursor.
    """
    query = AuditEntry.objects.all()
    if isinstance(actor, Actor):
        query = query.filter(actor_kind=actor.kind, actor_id=actor.id)
    elif actor:
        query = query.filter(actor_id=actor)
    if event:
        query = query.filter(_prefix("event", str(event)))
    if resource:
        query = query.filter(_prefix("resource", resource))
    if subject:
        query = query.filter(
            seq__in=AuditSubject.objects.filter(subject=subject).values("entry_id")
        )
    if since is not None:
        query = query.filter(recorded_at__gte=since)
    if until is not None:
        query = query.filter(recorded_at__lt=until)
    if decision is not None:
        query = query.filter(decision=decision)
    return _page(query, before, limit)


def entries_about(
    subject_ids: Iterable[str], *, before: int | None = None, limit: int = 50
) -> EntryPage:
    """Every entry about any of these persons or families, newest first (the family portal's
    "who looked at our data"). Each entry's `seq` is its leaf index for an inclusion proof."""
    ids = sorted(set(subject_ids))
    if not ids:
        return EntryPage([], None)
    about = AuditSubject.objects.filter(subject__in=ids).values("entry_id")
    return _page(AuditEntry.objects.filter(seq__in=about), before, limit)


def _page(query: QuerySet[AuditEntry], before: int | None, limit: int) -> EntryPage:
    if not 1 <= limit <= 1000:
        raise AuditError(f"page size must be between 1 and 1000, not {limit}")
    if before is not None:
        query = query.filter(seq__lt=before)
    rows = list(query.order_by("-seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return EntryPage(rows, int(rows[-1].seq) if more else None)


def entry(seq: int) -> AuditEntry:
    """The entry at `seq`; AuditError if there is none."""
    found: AuditEntry | None = AuditEntry.objects.filter(seq=seq).first()
    if found is None:
        raise AuditError(f"there is no entry {seq} (the log holds {log_size()})")
    return found
