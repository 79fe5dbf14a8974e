"""Put back the trigger that keeps an override's scope and expiry fixed.

SQLite rebuilds a table to alter a column (0005 changed the id fields' default), and a rebuilt
table loses its triggers. This re-creates the trigger of 0004 on either database; any later
migration that alters `consent_override` must do the same (tests/consent/test_overrides.py fails
if it is missing).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from kinfold.consent.migrations import _override_trigger as trigger


def forward(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(trigger.POSTGRES_BACK, params=None)
        schema_editor.execute(trigger.POSTGRES, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(trigger.SQLITE_BACK)
        schema_editor.execute(trigger.SQLITE)


class Migration(migrations.Migration):
    dependencies = [("consent", "0005_audit_safe_ids")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
