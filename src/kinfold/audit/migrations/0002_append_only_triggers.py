"""The database itself refuses to change audit rows, not just the ORM.

PostgreSQL: row triggers refuse UPDATE and DELETE on all four audit tables. TRUNCATE is left to
table ownership (the service's database role must not own these tables in production; see
docs/audit-log.md), which also keeps Django's test flush working.

SQLite: triggers refuse UPDATE. DELETE is not refused there, because SQLite has no TRUNCATE:
Django empties tables between transactional tests (and `flush`) with DELETE, which a trigger
would break for every part's tests. A deletion on SQLite is still caught by `kinfold audit verify`
(gap in the sequence, broken chain, checkpoint no longer matching).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLES = ("audit_entry", "audit_subject", "audit_tree_node", "audit_checkpoint")

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION kinfold_audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the kinfold audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _postgres_forward(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION kinfold_audit_refuse_change();"
    )


def _sqlite_forward(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'the kinfold audit log is append-only: UPDATE on {table} refused'); "
        "END;"
    )


def forward(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(_postgres_forward(table))
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(_sqlite_forward(table))


def backward(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS kinfold_audit_refuse_change();")
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
