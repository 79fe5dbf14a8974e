"""Nothing updates or deletes an audit row: not the ORM, and not SQL (the database refuses too)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from kinfold.audit.models import AppendOnlyError, AuditEntry, AuditSubject, Checkpoint, TreeNode

from .conftest import FillLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(fill_log: FillLog, checkpoint: Callable[[], int]) -> None:
    fill_log(4)
    checkpoint()


@pytest.mark.parametrize("model", [AuditEntry, AuditSubject, TreeNode, Checkpoint])
def test_querysets_cannot_update_or_delete(filled: None, model: type[AuditEntry]) -> None:
    rows = model.objects.all()
    assert rows.exists()
    with pytest.raises(AppendOnlyError):
        rows.delete()
    with pytest.raises(AppendOnlyError):
        rows.update(pk=1)
    with pytest.raises(AppendOnlyError):
        model.objects.bulk_update(list(rows), ["pk"])
    with pytest.raises(AppendOnlyError):
        model.objects.update_or_create(pk=1)


def test_a_saved_entry_cannot_be_saved_again_or_deleted(filled: None) -> None:
    entry = AuditEntry.objects.get(seq=1)
    entry.purpose = "something else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.get(seq=1).purpose == "key-work"


@pytest.mark.parametrize(
    "table", ["audit_entry", "audit_subject", "audit_tree_node", "audit_checkpoint"]
)
def test_the_database_refuses_sql_updates(filled: None, table: str) -> None:
    column = {
        "audit_entry": "purpose",
        "audit_subject": "subject",
        "audit_tree_node": "hash",
        "audit_checkpoint": "origin",
    }[table]
    value = b"x" if table == "audit_tree_node" else "x"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {table} SET {column} = %s", [value])


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no TRUNCATE, so Django empties tables with DELETE; see migration 0002",
)
@pytest.mark.parametrize(
    "table", ["audit_entry", "audit_subject", "audit_tree_node", "audit_checkpoint"]
)
def test_postgres_refuses_sql_deletes(filled: None, table: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {table}")
