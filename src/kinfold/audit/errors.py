"""Errors of the audit log that reach a user: one line, a non-zero exit status."""

from __future__ import annotations

from kinfold.errors import KinfoldError


class AuditError(KinfoldError):
    """A request the audit log cannot answer (no such entry, no checkpoint yet, bad sizes)."""

    exit_status = 2


class LogDamagedError(KinfoldError):
    """The log is not what it should be: altered, removed or reordered entries, bad signatures."""

    exit_status = 1
