"""Checking the whole log: one streaming pass, constant memory, stopping at the first bad entry.

For every entry in `seq` order: the sequence has no gap; the leaf hash recomputed from the stored
fields equals the stored one; the hash chain links; its subject-index rows are exactly its
subjects; every tree node it completes equals the stored node; and wherever a checkpoint was
signed, the recomputed root equals the signed root. Before the pass every checkpoint's signature
is checked against the trusted keys; after it, the log must hold every entry a checkpoint covers,
and consecutive checkpoints must be consistent (RFC 9162 consistency proof from the stored tree).

Only rows below the size read at the start are examined, so entries appended while verification
runs do not disturb it (the log is append-only, so what lies below that size cannot move).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from kinfold.audit import canonical, checkpoints, merkle, services
from kinfold.audit.errors import LogDamagedError
from kinfold.audit.models import NODE_KEY_LEVELS, Checkpoint

_FETCH = 5000
_ENTRY_COLUMNS = (
    "seq, recorded_at, actor_kind, actor_id, actor_role, actor_organisation, actor_run_id, "
    "event, resource, subjects, purpose, decision, reason, basis, details, leaf_hash, chain_hash"
)


@dataclass
class VerificationReport:
    """What verification found. `problems` is empty for an intact log."""

    entries: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_entry: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


class _FirstProblemError(Exception):
    """The first bad entry was found; the pass ends there."""


def verify_log(
    trusted_keys: Sequence[bytes] = (),
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Verify the whole log (see the module docstring). Trusted keys are the hub's current key
    plus `trusted_keys` (earlier keys, after a rotation)."""
    started = time.perf_counter()
    report = VerificationReport()
    keys = [checkpoints.public_key(), *trusted_keys]
    with _snapshot():
        signed = list(Checkpoint.objects.order_by("number"))
        report.checkpoints = len(signed)
        _check_checkpoint_records(signed, keys, report)
        bound = services.log_size()
        with suppress(_FirstProblemError):
            _stream_entries(bound, signed, report, progress)
        if report.ok:
            _check_consistency(signed, report)
    report.seconds = time.perf_counter() - started
    return report


def _snapshot() -> AbstractContextManager[Any]:
    # PostgreSQL streams through server-side cursors, which live inside a transaction. On SQLite
    # a transaction would take the write lock (BEGIN IMMEDIATE); each SELECT reads a consistent
    # snapshot anyway, and nothing below the bound can change.
    return transaction.atomic() if connection.vendor == "postgresql" else nullcontext()


def _problem(report: VerificationReport, message: str, seq: int | None = None) -> None:
    report.problems.append(message)
    if seq is not None and report.first_bad_entry is None:
        report.first_bad_entry = seq


def _check_checkpoint_records(
    signed: list[Checkpoint], keys: list[bytes], report: VerificationReport
) -> None:
    previous_size = 0
    for position, checkpoint in enumerate(signed, start=1):
        label = f"checkpoint {checkpoint.number}"
        if int(checkpoint.number) != position:
            _problem(
                report, f"checkpoint {position} is missing (numbers jump to {checkpoint.number})"
            )
        if not checkpoints.signature_valid(checkpoint, keys):
            _problem(report, f"{label}: the signature is not valid for a trusted key")
        if int(checkpoint.tree_size) < previous_size:
            _problem(
                report, f"{label}: the log shrank from {previous_size} to {checkpoint.tree_size}"
            )
        if int(checkpoint.tree_size) == 0 and bytes(checkpoint.root_hash) != merkle.EMPTY_ROOT:
            _problem(report, f"{label}: an empty log's root must be SHA-256 of nothing")
        previous_size = max(previous_size, int(checkpoint.tree_size))


def _rows(sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(_FETCH):
            yield from chunk


def _time_text(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return canonical.utc_text(value)  # SQLite hands back naive UTC datetimes
    return canonical.utc_text(datetime.fromisoformat(str(value)).replace(tzinfo=None))


def _recanonicalise(value: Any) -> str:
    parsed = json.loads(value) if isinstance(value, str | bytes) else value
    return canonical.canonical_json(parsed).decode() if parsed else "{}"


def _stream_entries(
    bound: int,
    signed: list[Checkpoint],
    report: VerificationReport,
    progress: Callable[[int], None] | None,
) -> None:
    roots_at: dict[int, list[Checkpoint]] = {}
    for checkpoint in signed:
        roots_at.setdefault(int(checkpoint.tree_size), []).append(checkpoint)
    # The column list is a constant of this module; the bound is a parameter.
    entry_sql = f"SELECT {_ENTRY_COLUMNS} FROM audit_entry WHERE seq < %s ORDER BY seq"  # noqa: S608
    entries = _rows(entry_sql, [bound])
    nodes = _Merge(
        _rows(
            "SELECT key, hash FROM audit_tree_node WHERE key < %s ORDER BY key",
            [bound * NODE_KEY_LEVELS],
        )
    )
    subjects = _Merge(
        _rows(
            "SELECT entry_id, subject FROM audit_subject WHERE entry_id < %s "
            "ORDER BY entry_id, subject",
            [bound],
        )
    )
    frontier = merkle.Frontier()
    chain = services.GENESIS
    good_size = 0
    sha256 = hashlib.sha256
    entry_bytes = canonical.entry_bytes
    expected = 0
    sqlite = connection.vendor == "sqlite"
    for row in entries:
        seq = int(row[0])
        if seq != expected:
            _problem(
                report,
                f"entry {expected} is missing: the sequence jumps from {expected - 1} to {seq}",
                expected,
            )
            raise _FirstProblemError
        fields = canonical.EntryFields(
            seq,
            _time_text(row[1]),
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            tuple(row[9].split()) if row[9] else (),
            row[10],
            row[11],
            row[12],
            row[13],
            {},
        )
        stored_details = row[14]
        fast = isinstance(stored_details, str) and sqlite
        details_json = stored_details if fast else _recanonicalise(stored_details)
        leaf = sha256(b"\x00" + entry_bytes(fields, details_json)).digest()
        if leaf != bytes(row[15]) and fast:
            # Not the canonical text kinfold writes: judge the JSON value, not its spelling.
            leaf = sha256(b"\x00" + entry_bytes(fields, _recanonicalise(stored_details))).digest()
        if leaf != bytes(row[15]):
            _problem(
                report,
                f"entry {seq} does not match its leaf hash: it was altered, or moved from "
                "another position",
                seq,
            )
            raise _FirstProblemError
        chain = sha256(chain + leaf).digest()
        if chain != bytes(row[16]):
            _problem(
                report,
                f"entry {seq}: the hash chain is broken (an entry was removed, reordered or "
                "rewritten at or before it)",
                seq,
            )
            raise _FirstProblemError
        if subjects.take(seq) != fields.subjects:  # both sorted in Python's order
            _problem(report, f"entry {seq}: its subject index rows differ from its subjects", seq)
            raise _FirstProblemError
        for level, index, value in frontier.append(leaf):
            _check_node(nodes, level, index, value, good_size, report)
        expected = seq + 1
        if expected in roots_at:
            good_size = _check_roots(roots_at[expected], frontier, good_size, report)
        if progress is not None and expected % 100_000 == 0:
            progress(expected)
    report.entries = expected
    _check_tail(expected, bound, signed, nodes, subjects, report)


def _check_node(
    nodes: _Merge,
    level: int,
    index: int,
    value: bytes,
    good_size: int,
    report: VerificationReport,
) -> None:
    key = (((index + 1) << level) - 1) * NODE_KEY_LEVELS + level
    first, last = index << level, ((index + 1) << level) - 1
    stored = nodes.next_row()
    if stored is None or int(stored[0]) != key:
        _problem(
            report, f"the tree node over entries {first} to {last} is missing or misplaced", first
        )
        raise _FirstProblemError
    if bytes(stored[1]) != value:
        bad = max(first, good_size)
        _problem(
            report,
            f"entries {bad} to {last}: the stored tree node over entries {first} to {last} "
            "does not match them (an entry was altered and its hashes rewritten)",
            bad,
        )
        raise _FirstProblemError


def _check_roots(
    at_size: list[Checkpoint], frontier: merkle.Frontier, good_size: int, report: VerificationReport
) -> int:
    root = frontier.root()
    for checkpoint in at_size:
        if bytes(checkpoint.root_hash) != root:
            _problem(
                report,
                f"entries {good_size} to {frontier.size - 1}: checkpoint {checkpoint.number} "
                f"signed a different root for {frontier.size} entries (an entry in that range was "
                "altered, removed or reordered and the hashes rewritten)",
                good_size,
            )
            raise _FirstProblemError
    return frontier.size


def _check_tail(
    count: int,
    bound: int,
    signed: list[Checkpoint],
    nodes: _Merge,
    subjects: _Merge,
    report: VerificationReport,
) -> None:
    if count != bound:
        _problem(report, f"entry {count} is missing: the log's last entry is {bound - 1}", count)
        return
    if signed and int(signed[-1].tree_size) > count:
        covered = max(int(c.tree_size) for c in signed)
        _problem(
            report,
            f"entry {count} is missing: checkpoint {signed[-1].number} covers {covered} entries "
            "but the log holds "
            f"{count} (the log was truncated)",
            count,
        )
        return
    extra = nodes.next_row()
    if extra is not None:
        _problem(report, f"the stored tree has a node (key {extra[0]}) beyond the entries")
    orphan = subjects.next_row()
    if orphan is not None:
        _problem(report, f"the subject index names entry {orphan[0]}, which is not in the log")


def _check_consistency(signed: list[Checkpoint], report: VerificationReport) -> None:
    for older, newer in itertools.pairwise(signed):
        size1, size2 = int(older.tree_size), int(newer.tree_size)
        if size1 == 0:
            continue
        try:
            proof = services.consistency_proof(size1, size2)
            merkle.verify_consistency(
                size1, size2, bytes(older.root_hash), bytes(newer.root_hash), proof
            )
        except (merkle.ProofError, LogDamagedError) as exc:
            _problem(
                report,
                f"checkpoints {older.number} and {newer.number} are not consistent: {exc}",
            )
            return


class _Merge:
    """A sorted row stream read alongside the entries."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._head: tuple[Any, ...] | None = next(rows, None)

    def next_row(self) -> tuple[Any, ...] | None:
        head = self._head
        if head is not None:
            self._head = next(self._rows, None)
        return head

    def take(self, seq: int) -> tuple[str, ...]:
        """The subjects of entry `seq`; rows for an earlier entry are reported as a mismatch."""
        head = self._head
        if head is None or head[0] > seq:
            return ()  # most entries' subjects are checked by this one comparison
        found: list[str] = []
        rows = self._rows
        while head is not None and head[0] <= seq:
            if head[0] < seq:
                found.append("<row for an earlier entry>")
            else:
                found.append(head[1])
            head = next(rows, None)
        self._head = head
        found.sort()  # the database's collation may order them differently
        return tuple(found)
