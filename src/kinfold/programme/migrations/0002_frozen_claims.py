"""The database itself refuses to change a signed-off claim's evidence, not just the ORM.

Once a claim is signed off (or submitted), an UPDATE may only move it from signed off to
submitted and stamp `submitted_at`; anything else (its evidence, digest, amount, family, quarter,
route, kind, who signed it off and when) is refused. On PostgreSQL a signed-off claim cannot be
deleted either. SQLite keeps DELETE allowed, because Django empties tables between transactional
tests with DELETE; `Claim.verify()` (the evidence's SHA-256) still catches a changed pack.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

FROZEN_COLUMNS = (
    "kind",
    "journey_id",
    "family_id",
    "framework_id",
    "quarter",
    "amount",
    "route",
    "evidence",
    "evidence_sha256",
    "prepared_by_id",
    "signed_off_by_id",
    "signed_off_at",
)
FROZEN = "('signed_off', 'submitted')"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kinfold_claim_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN {FROZEN} THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'claim % was signed off and cannot be deleted', OLD.claim_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.status NOT IN {FROZEN}
            {" ".join(f"OR NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN_COLUMNS)} THEN
            RAISE EXCEPTION 'claim % was signed off: its evidence cannot change', OLD.claim_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
"""

SQLITE_TRIGGER = f"""
CREATE TRIGGER programme_claim_frozen BEFORE UPDATE ON programme_claim
WHEN OLD.status IN {FROZEN} AND (NEW.status NOT IN {FROZEN}
    {" ".join(f"OR NEW.{c} IS NOT OLD.{c}" for c in FROZEN_COLUMNS)})
BEGIN
    SELECT RAISE(ABORT, 'a signed-off claim''s evidence cannot change');
END;
"""


def forward(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        schema_editor.execute(
            "CREATE TRIGGER programme_claim_frozen BEFORE UPDATE OR DELETE ON programme_claim "
            "FOR EACH ROW EXECUTE FUNCTION kinfold_claim_refuse_change();"
        )
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER, params=None)


def backward(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS programme_claim_frozen ON programme_claim;")
        schema_editor.execute("DROP FUNCTION IF EXISTS kinfold_claim_refuse_change();")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS programme_claim_frozen;")


class Migration(migrations.Migration):
    dependencies = [("programme", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
