"""Existing consents get their own receipt and the council as recipient; an override's scope and
expiry become unchangeable in the database itself.

An approved override must never widen itself (docs/agreements.md): triggers refuse any UPDATE that
changes who or what it covers, its purpose, its expiry, its justification or who proposed it. Its
state may still move (approved, rejected, ended early, expired): those only ever narrow it.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

FIXED = (
    "family_id",
    "person_id",
    "purpose_id",
    "categories",
    "partners",
    "expires_at",
    "justification",
    "proposed_by_id",
    "proposed_at",
    "override_id",
)
TABLE = "consent_override"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION kinfold_override_scope_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)} THEN
        RAISE EXCEPTION 'an override''s scope and expiry cannot change: propose a new override'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER {TABLE}_scope_fixed BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION kinfold_override_scope_fixed();
"""
POSTGRES_BACK = f"""
DROP TRIGGER IF EXISTS {TABLE}_scope_fixed ON {TABLE};
DROP FUNCTION IF EXISTS kinfold_override_scope_fixed();
"""
SQLITE = (
    f"CREATE TRIGGER {TABLE}_scope_fixed BEFORE UPDATE ON {TABLE} "
    f"WHEN {' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in FIXED)} BEGIN "
    "SELECT RAISE(ABORT, 'an override''s scope and expiry cannot change: propose a new override'); "
    "END;"
)
SQLITE_BACK = f"DROP TRIGGER IF EXISTS {TABLE}_scope_fixed;"


def backfill(apps: Any, schema_editor: Any) -> None:
    consent_record = apps.get_model("consent", "ConsentRecord")
    organisation = apps.get_model("agreements", "Organisation")
    council = organisation.objects.filter(kind="council").order_by("pk").first()
    for record in consent_record.objects.all().only("pk", "record_id"):
        consent_record.objects.filter(pk=record.pk).update(
            receipt_id=record.record_id, recipient=council
        )


def triggers(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE)


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACK, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACK)


class Migration(migrations.Migration):
    dependencies = [("consent", "0003_iso27560_overrides_referrals")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(triggers, drop_triggers),
    ]
